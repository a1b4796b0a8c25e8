#!/usr/bin/env bash
# make deb: a Debian package of the release build with dpkg-deb (no debhelper needed).
#   usage: VERSION=0.1.0 packaging/build-deb.sh   → .build/jwt-allauth_VERSION_ARCH.deb
set -euo pipefail
cd "$(dirname "$0")/.."
version=${VERSION:?set VERSION}
arch=$(dpkg --print-architecture)
stage=.build/deb/jwt-allauth_${version}_${arch}
rm -rf "$stage"
bash packaging/install.sh "$stage" /usr
install -d "$stage/usr/share/doc/jwt-allauth"
install -m 0644 README.md LICENSE "$stage/usr/share/doc/jwt-allauth/"
install -d "$stage/usr/share/doc/jwt-allauth/docs"
install -m 0644 docs/*.md "$stage/usr/share/doc/jwt-allauth/docs/"

# Depends: the Debian package of each library the binary links directly (its ELF NEEDED entries:
# libfcgi, libsqlite3, libcurl, libstdc++, libc …), at least the version it was built against;
# what those need in turn (libssl under libcurl) their own packages depend on. readelf comes
# with binutils, which the Swift toolchain needs to link at all.
binary=$stage/usr/bin/jwt-allauth
needed=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
depends=$(
    ldd "$binary" | awk -v needed="$needed" 'BEGIN { split(needed, n, " "); for (i in n) want[n[i]] = 1 }
        $2 == "=>" && $3 ~ /^\// && ($1 in want) { print $3 }' | while read -r lib; do
        # usrmerge: dpkg may know the library under /lib or under /usr/lib.
        for path in "$lib" "$(readlink -f "$lib")" "${lib#/usr}" "/usr${lib}"; do
            dpkg -S "$path" 2>/dev/null && break
        done
    done | cut -d: -f1 | sort -u | while read -r package; do
        echo "$package (>= $(dpkg-query -W -f='${Version}' "$package" | sed 's/^[0-9]*://; s/-[^-]*$//'))"
    done | paste -sd, - | sed 's/,/, /g'
)
[ -n "$depends" ] || { echo "no library dependencies found (ldd)" >&2; exit 1; }

install -d "$stage/DEBIAN"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: jwt-allauth
Version: $version
Architecture: $arch
Maintainer: jwt-allauth maintainers <root@localhost>
Installed-Size: $(du -sk "$stage" | cut -f1)
Depends: $depends, passwd
Recommends: nginx-light | nginx
Suggests: fail2ban
Section: web
Priority: optional
Description: JWT access/refresh authentication behind nginx
 A FastCGI worker pool (Swift) behind nginx that speaks the HTTP API of
 django-jwt-allauth 1.5.1: access JWTs, rotating refresh tokens on a SQLite
 whitelist with reuse detection. Set a site up with "jwt-allauth init".
CONTROL
for script in postinst prerm postrm; do
    install -m 0755 "packaging/debian/$script" "$stage/DEBIAN/$script"
done
dpkg-deb --root-owner-group --build "$stage" ".build/jwt-allauth_${version}_${arch}.deb"
