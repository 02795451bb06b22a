/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The whitelist itself: every entry point declaration is complete and
 * matches the polkit actions and the D-Bus interface descriptions that ship
 * with it, and the privileged code includes nothing it must not. */

#include <gio/gio.h>
#include <glib.h>
#include <string.h>

#include "entry-point.h"

static const char *source_root(void) {
        const char *root = g_getenv("PRIVSEP_SOURCE_ROOT");
        g_assert_nonnull(root);
        return root;
}

static void test_declarations(void) {
        g_autoptr(GHashTable) methods = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GHashTable) actions = g_hash_table_new(g_str_hash, g_str_equal);
        uint64_t all = 0;

        for (cap_value_t c = 0; c < 41; c++)
                all |= UINT64_C(1) << c;

        g_assert_cmpuint(entry_point_count(), >=, 6);

        ENTRY_POINT_FOREACH(e) {
                g_autofree char *key = g_strdup_printf("%s.%s", e->interface, e->member);

                g_assert_true(g_str_has_prefix(e->interface, "org.privsep.Privsep1."));
                g_assert_true(g_dbus_is_interface_name(e->interface));
                g_assert_true(g_dbus_is_member_name(e->member));
                g_assert_true(g_str_has_prefix(e->action_id, "org.privsep."));
                g_assert_nonnull(e->polkit_message);
                g_assert_nonnull(e->function);
                g_assert_nonnull(e->context);
                g_assert_cmpuint(e->context->n_capabilities, >=, 1);
                /* No context contains every capability. */
                g_assert_cmpuint(privilege_context_mask(e->context) & all, !=, all);
                g_assert_cmpuint(e->n_arguments, <=, ENTRY_POINT_ARGUMENTS_MAX);

                for (size_t i = 0; i < e->n_arguments; i++) {
                        const EntryPointArgument *argument = &e->arguments[i];

                        g_assert_nonnull(strchr("stub", argument->type));
                        g_assert_nonnull(argument->name);
                        g_assert_nonnull(argument->description);
                        /* Every string and number is checked; only booleans
                         * have nothing to check. */
                        if (argument->type != 'b')
                                g_assert_nonnull(argument->validate);
                }

                g_assert_true(g_hash_table_add(methods, g_steal_pointer(&key)));
                g_assert_true(g_hash_table_add(actions, (gpointer) e->action_id));
                g_assert_true(entry_point_find(e->interface, e->member) == e);
        }

        g_assert_null(entry_point_find("org.privsep.Privsep1.Motd", "Delete"));
        g_assert_null(entry_point_find("org.privsep.Privsep1.Manager", "ListMethods"));
}

typedef struct {
        GHashTable *actions; /* action id -> "owner|any|inactive|active" */
        char *action;
        char *element;
        GString *owner, *any, *inactive, *active;
        char *annotate_key;
} PolicyParser;

static void policy_start(GMarkupParseContext *context, const char *element, const char **names,
                         const char **values, gpointer userdata, GError **error) {
        PolicyParser *p = userdata;

        g_free(p->element);
        p->element = g_strdup(element);

        if (strcmp(element, "action") == 0) {
                for (size_t i = 0; names[i]; i++)
                        if (strcmp(names[i], "id") == 0)
                                p->action = g_strdup(values[i]);
                g_string_truncate(p->owner, 0);
                g_string_truncate(p->any, 0);
                g_string_truncate(p->inactive, 0);
                g_string_truncate(p->active, 0);
        } else if (strcmp(element, "annotate") == 0) {
                g_clear_pointer(&p->annotate_key, g_free);
                for (size_t i = 0; names[i]; i++)
                        if (strcmp(names[i], "key") == 0)
                                p->annotate_key = g_strdup(values[i]);
        }
}

static void policy_text(GMarkupParseContext *context, const char *text, gsize length, gpointer userdata, GError **error) {
        PolicyParser *p = userdata;

        if (!p->action || !p->element)
                return;

        if (strcmp(p->element, "allow_any") == 0)
                g_string_append_len(p->any, text, (gssize) length);
        else if (strcmp(p->element, "allow_inactive") == 0)
                g_string_append_len(p->inactive, text, (gssize) length);
        else if (strcmp(p->element, "allow_active") == 0)
                g_string_append_len(p->active, text, (gssize) length);
        else if (strcmp(p->element, "annotate") == 0 && g_strcmp0(p->annotate_key, "org.freedesktop.policykit.owner") == 0)
                g_string_append_len(p->owner, text, (gssize) length);
}

static void policy_end(GMarkupParseContext *context, const char *element, gpointer userdata, GError **error) {
        PolicyParser *p = userdata;

        g_clear_pointer(&p->element, g_free);

        if (strcmp(element, "action") == 0 && p->action) {
                g_hash_table_insert(p->actions, g_steal_pointer(&p->action),
                                    g_strdup_printf("%s|%s|%s|%s", p->owner->str, p->any->str,
                                                    p->inactive->str, p->active->str));
        }
}

static void test_polkit_actions(void) {
        static const GMarkupParser parser = { .start_element = policy_start, .end_element = policy_end, .text = policy_text };
        g_autofree char *path = g_build_filename(source_root(), "polkit", "org.privsep.policy", NULL);
        g_autofree char *xml = NULL;
        g_autoptr(GError) error = NULL;
        PolicyParser p = {
                .actions = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
                .owner = g_string_new(NULL), .any = g_string_new(NULL),
                .inactive = g_string_new(NULL), .active = g_string_new(NULL),
        };
        GMarkupParseContext *context;

        g_assert_true(g_file_get_contents(path, &xml, NULL, &error));
        context = g_markup_parse_context_new(&parser, 0, &p, NULL);
        g_assert_true(g_markup_parse_context_parse(context, xml, -1, &error));
        g_assert_no_error(error);
        g_markup_parse_context_free(context);

        /* Every entry point has its action ... */
        ENTRY_POINT_FOREACH(e) {
                const char *action = g_hash_table_lookup(p.actions, e->action_id);

                if (!action)
                        g_error("Entry point %s.%s has no polkit action %s in %s", e->interface, e->member, e->action_id, path);
                g_assert_cmpstr(action, ==, "unix-user:privsepd|no|no|auth_admin_keep");
        }

        /* ... and every action its entry point. */
        GHashTableIter iter;
        gpointer key;
        g_hash_table_iter_init(&iter, p.actions);
        while (g_hash_table_iter_next(&iter, &key, NULL)) {
                bool found = false;

                ENTRY_POINT_FOREACH(e)
                        found = found || strcmp(e->action_id, key) == 0;
                if (!found)
                        g_error("polkit action %s has no entry point", (const char *) key);
        }

        g_hash_table_unref(p.actions);
        g_string_free(p.owner, TRUE);
        g_string_free(p.any, TRUE);
        g_string_free(p.inactive, TRUE);
        g_string_free(p.active, TRUE);
}

static GDBusInterfaceInfo *load_interface(const char *name) {
        g_autofree char *file = g_strdup_printf("%s.xml", name);
        g_autofree char *path = g_build_filename(source_root(), "dbus", file, NULL);
        g_autofree char *xml = NULL;
        g_autoptr(GError) error = NULL;
        GDBusNodeInfo *node;
        GDBusInterfaceInfo *interface;

        if (!g_file_get_contents(path, &xml, NULL, &error))
                g_error("Interface %s has no description: %s", name, error->message);

        node = g_dbus_node_info_new_for_xml(xml, &error);
        g_assert_no_error(error);
        interface = g_dbus_node_info_lookup_interface(node, name);
        g_assert_nonnull(interface);
        g_dbus_interface_info_ref(interface);
        g_dbus_node_info_unref(node);
        return interface;
}

static void test_interface_descriptions(void) {
        ENTRY_POINT_FOREACH(e) {
                GDBusInterfaceInfo *interface = load_interface(e->interface);
                GDBusMethodInfo *method = g_dbus_interface_info_lookup_method(interface, e->member);
                size_t n_in = 0;

                if (!method)
                        g_error("dbus/%s.xml lacks method %s", e->interface, e->member);

                for (; method->in_args && method->in_args[n_in]; n_in++) {
                        g_assert_cmpuint(n_in, <, e->n_arguments);
                        g_assert_cmpstr(method->in_args[n_in]->name, ==, e->arguments[n_in].name);
                        g_assert_cmpint(strlen(method->in_args[n_in]->signature), ==, 1);
                        g_assert_cmpint(method->in_args[n_in]->signature[0], ==, e->arguments[n_in].type);
                }
                g_assert_cmpuint(n_in, ==, e->n_arguments);
                g_assert_true(!method->out_args || !method->out_args[0]);

                /* Every method the description promises is declared. */
                for (size_t i = 0; interface->methods && interface->methods[i]; i++)
                        if (!entry_point_find(e->interface, interface->methods[i]->name))
                                g_error("dbus/%s.xml describes %s, which is not an entry point",
                                        e->interface, interface->methods[i]->name);

                g_dbus_interface_info_unref(interface);
        }
}

static bool include_allowed(const char *header) {
        static const char *const libc[] = {
                "errno.h", "fcntl.h", "inttypes.h", "limits.h", "stdarg.h", "stdbool.h", "stddef.h",
                "stdint.h", "stdio.h", "stdlib.h", "string.h", "unistd.h", "dirent.h", "sched.h",
                "signal.h", "time.h", "net/if.h",
        };

        if (g_str_has_prefix(header, "sys/") || g_str_has_prefix(header, "linux/"))
                return true; /* libc, kernel UAPI and <sys/capability.h> from libcap */

        for (size_t i = 0; i < G_N_ELEMENTS(libc); i++)
                if (strcmp(header, libc[i]) == 0)
                        return true;

        return false;
}

static void test_privileged_includes(void) {
        g_autofree char *directory = g_build_filename(source_root(), "privileged", NULL);
        g_autoptr(GRegex) include = g_regex_new("^\\s*#\\s*include\\s*([<\"])([^>\"]+)[>\"]", G_REGEX_MULTILINE, 0, NULL);
        g_autoptr(GError) error = NULL;
        GDir *dir = g_dir_open(directory, 0, &error);
        const char *name;
        unsigned checked = 0;

        g_assert_no_error(error);

        while ((name = g_dir_read_name(dir))) {
                g_autofree char *path = g_build_filename(directory, name, NULL);
                g_autofree char *text = NULL;
                g_autoptr(GMatchInfo) match = NULL;

                if (!g_str_has_suffix(name, ".c") && !g_str_has_suffix(name, ".h"))
                        continue;

                g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
                g_regex_match(include, text, 0, &match);
                for (; g_match_info_matches(match); g_match_info_next(match, NULL)) {
                        g_autofree char *kind = g_match_info_fetch(match, 1);
                        g_autofree char *header = g_match_info_fetch(match, 2);

                        if (kind[0] == '"') {
                                g_autofree char *local = g_build_filename(directory, header, NULL);
                                if (strchr(header, '/') || !g_file_test(local, G_FILE_TEST_IS_REGULAR))
                                        g_error("privileged/%s includes \"%s\", which is not in privileged/", name, header);
                        } else if (!include_allowed(header))
                                g_error("privileged/%s includes <%s>, which is neither libc nor libcap", name, header);
                        checked++;
                }
        }
        g_dir_close(dir);

        g_assert_cmpuint(checked, >, 20);
}

static void test_include_check_catches(void) {
        g_assert_false(include_allowed("systemd/sd-bus.h"));
        g_assert_false(include_allowed("glib.h"));
        g_assert_false(include_allowed("curl/curl.h"));
        g_assert_true(include_allowed("sys/capability.h"));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/entry-points/declarations", test_declarations);
        g_test_add_func("/entry-points/polkit-actions-match", test_polkit_actions);
        g_test_add_func("/entry-points/interface-descriptions-match", test_interface_descriptions);
        g_test_add_func("/privileged/includes-only-libc-and-libcap", test_privileged_includes);
        g_test_add_func("/privileged/include-check-rejects-others", test_include_check_catches);

        return g_test_run();
}
