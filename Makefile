# jwt-allauth — the two commands a newcomer needs:
#   make run    set up and run a local instance (nginx on 127.0.0.1:$PORT, workers, SQLite, mail in var/mail/)
#   make test   run the whole test suite (unit + end-to-end through real nginx)

PORT ?= 8080
SWIFT ?= swift
# Debian packages the build, the tests and the local instance need.
SYSTEM_PACKAGES = nginx-light libfcgi-dev libsqlite3-dev libssl-dev curl wrk openssl
# Operations: fail2ban-regex (security-event tests), dpkg-dev (make deb).
SYSTEM_PACKAGES += fail2ban dpkg-dev

.PHONY: deps build release run test bench bench-faults bench-reference clean

deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

run: release
	exec .build/release/jwt-allauth dev --dir var --port $(PORT)

test: build
	$(SWIFT) test --no-parallel

bench: release
	bash bench/run.sh

# 24 clients refreshing while a worker is killed, the master reloaded and a worker stopped.
bench-faults: release
	bash bench/faults.sh

clean:
	rm -rf .build var

# The same refresh load against django-jwt-allauth 1.5.1 under gunicorn, in one run (needs PyPI).
bench-reference: release
	bash bench/reference.sh
