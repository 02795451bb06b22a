# Sourced by tools/test and tools/demo: installs the Debian packages that
# are missing, from apt only.
privsep_install_packages() {
        local missing=() package
        for package in "$@"; do
                if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
                        missing+=("$package")
                fi
        done
        if [ ${#missing[@]} -eq 0 ]; then
                return 0
        fi
        if [ "$(id -u)" -ne 0 ]; then
                echo "Missing packages: ${missing[*]}. Run as root or install them with apt-get." >&2
                return 1
        fi
        echo "Installing ${missing[*]} ..."
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# What configuring and building privsepd needs; meson reads install
# directories from dbus-1.pc and builds the GLib unit tests too.
PRIVSEP_BUILD_PACKAGES=(meson ninja-build pkg-config gcc libc6-dev libsystemd-dev libcap-dev libdbus-1-dev libglib2.0-dev systemd dbus)
# What the demo and the bus tests run: a real bus, polkitd and busctl.
PRIVSEP_RUN_PACKAGES=(dbus polkitd python3 python3-dbus iproute2 util-linux libglib2.0-bin)
# What the test suite needs on top: GLib and libglib-testing for the
# tests, debootstrap and systemd-nspawn for the container tests.
PRIVSEP_TEST_PACKAGES=(libglib2.0-dev libglib-testing-0-dev debootstrap systemd-container)
