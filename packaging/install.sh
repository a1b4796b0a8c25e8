#!/usr/bin/env bash
# make install (and make deb): the release binary, built with the Swift runtime linked in
# (--static-swift-stdlib, so the target machine needs no toolchain), the share directory
# (nginx/, config/, Templates/) and the systemd unit, under DESTDIR/PREFIX.
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

# The unit for the layout of docs/deploying.md (`jwt-allauth init /etc/jwt-allauth`), rendered from the same
# template `init` fills. A site initialised elsewhere uses the unit `init` wrote instead.
case "$prefix" in
    /usr) unitdir=$destdir/lib/systemd/system ;;
    *) unitdir=$destdir$prefix/lib/systemd/system ;;
esac
install -d "$unitdir"
sed -e "s|{{user}}|jwt-allauth|; s|{{group}}|www-data|; s|{{binary}}|$prefix/bin/jwt-allauth|" \
    -e "s|{{config}}|/etc/jwt-allauth/config.yaml|; s|{{state_dir}}|/etc/jwt-allauth|" \
    -e "s|written by \`jwt-allauth init\`|shipped with the package, for /etc/jwt-allauth|" \
    config/jwt-allauth.service.template > "$unitdir/jwt-allauth.service"
chmod 0644 "$unitdir/jwt-allauth.service"
if grep -q '{{' "$unitdir/jwt-allauth.service"; then echo "unfilled placeholder in the unit" >&2; exit 1; fi
