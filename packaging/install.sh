#!/usr/bin/env bash
# make install (and make deb): the release binary, built with the Swift runtime linked in
# (--static-swift-stdlib, so the target machine needs no toolchain), the share directory
# (nginx/, config/, Templates/) and the systemd units (the service, the daily purge and its timer),
# under DESTDIR/PREFIX.
#   usage: packaging/install.sh DESTDIR PREFIX
set -euo pipefail
cd "$(dirname "$0")/.."
destdir=${1:-}
prefix=${2:-/usr/local}
binary=.build/release/jwt-allauth
[ -x "$binary" ] || { echo "no $binary: run make release first" >&2; exit 1; }

install -d "$destdir$prefix/bin" "$destdir$prefix/share/jwt-allauth"
# Stripped: the package is a third of the size; a crash report still names the functions.
install -m 0755 --strip "$binary" "$destdir$prefix/bin/jwt-allauth"
# jwt-allauth finds these at <binary>/../share/jwt-allauth (ShareDirectory).
for dir in nginx config Templates; do
    cp -R --no-preserve=ownership "$dir" "$destdir$prefix/share/jwt-allauth/"
done
find "$destdir$prefix/share/jwt-allauth" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +

# The units for the layout of docs/deploying.md (`jwt-allauth init /etc/jwt-allauth`), rendered from the same
# templates `init` fills (the sandbox fragment first, then the placeholders); the deployment test compares the
# two. A site initialised elsewhere uses the units `init` wrote instead.
case "$prefix" in
    /usr) unitdir=$destdir/lib/systemd/system ;;
    *) unitdir=$destdir$prefix/lib/systemd/system ;;
esac
install -d "$unitdir"
for unit in jwt-allauth.service jwt-allauth-purge.service jwt-allauth-purge.timer; do
    template=config/$unit.template
    [ -f "$template" ] || template=config/$unit
    sed -e '/^{{sandbox}}$/{' -e 'r config/jwt-allauth-sandbox.conf' -e 'd' -e '}' "$template" \
        | sed -e "s|{{user}}|jwt-allauth|; s|{{group}}|jwt-allauth|; s|{{socket_group}}|www-data|" \
              -e "s|{{binary}}|$prefix/bin/jwt-allauth|; s|{{config}}|/etc/jwt-allauth/config.yaml|; s|{{read_write_paths}}||" \
              -e "s|written by \`jwt-allauth init\`|shipped with the package, for /etc/jwt-allauth|" \
        > "$unitdir/$unit"
    chmod 0644 "$unitdir/$unit"
    if grep -q '{{' "$unitdir/$unit"; then echo "unfilled placeholder in $unit" >&2; exit 1; fi
done
