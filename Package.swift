// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "jwt-allauth",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "jwt-allauth", targets: ["jwt-allauth"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", exact: "1.8.0"),
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", exact: "2.1.1"),
        // Atomic adds on the pool's shared, mmap'd metric counters (Metrics/CounterFile.swift).
        .package(url: "https://github.com/apple/swift-atomics.git", exact: "1.3.0"),
    ],
    targets: [
        // libfcgi (Debian libfcgi-dev): the FastCGI protocol.
        .systemLibrary(name: "CFastCGI", path: "Sources/CFastCGI"),
        // epoll (Linux's own header; Glibc's Swift module leaves it out): the FastCGI event loop.
        .systemLibrary(name: "CEpoll", path: "Sources/CEpoll"),
        // libsqlite3 (Debian libsqlite3-dev), used directly for cached statements and a custom busy handler.
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        // libcurl (Debian libcurl4-openssl-dev): the SMTP client of the mail process.
        .systemLibrary(name: "CCurl", path: "Sources/CCurl"),
        // libqrencode (Debian libqrencode-dev): the QR code of a TOTP provisioning URI.
        .systemLibrary(name: "CQRencode", path: "Sources/CQRencode"),
        // libpq (Debian libpq-dev): the PostgreSQL store (`database.url: postgresql://…`).
        .systemLibrary(name: "CPostgreSQL", path: "Sources/CPostgreSQL", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // libargon2 (Debian libargon2-dev): imported Django `argon2` hashes, checked at login.
        .systemLibrary(name: "CArgon2", path: "Sources/CArgon2", providers: [.apt(["libargon2-dev"])]),
        // libxcrypt (Debian libcrypt-dev): imported Django `bcrypt` and `bcrypt_sha256` hashes (`crypt_rn`).
        .systemLibrary(name: "CXCrypt", path: "Sources/CXCrypt", providers: [.apt(["libcrypt-dev"])]),
        // Transport: socket, worker pool, Request/Response bytes. Knows nothing of auth.
        .target(
            name: "FastCGI",
            dependencies: [
                "CFastCGI",
                "CEpoll",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The layers of the service, each a target that may import only those before it (checked by
        // scripts/layers.py in `make test`; docs/architecture.md draws them):
        // core → runtime → store → domain → HTTP, and the command line on top.
        // Core: JSON, Base64URL, plain-text and date rules, the configuration reader. No I/O.
        .target(
            name: "AllauthCore",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        // Runtime: the blocking API (Blocking), the pool's shared files, password hashing inside the
        // pool's hashing budget (with the C libraries that check imported Django hashes), metrics
        // and the security log.
        .target(
            name: "AllauthRuntime",
            dependencies: [
                "AllauthCore",
                "CArgon2",
                "CXCrypt",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        // Store: both engines (SQLite, PostgreSQL), migrations, purge, backup, copy.
        .target(
            name: "AllauthStore",
            dependencies: ["AllauthCore", "AllauthRuntime", "CSQLite", "CPostgreSQL"]
        ),
        // Domain: accounts, sessions, tokens, MFA, social, mail, templates, localization,
        // configuration and deployment files; one folder each. Knows nothing of HTTP transport.
        .target(
            name: "AllauthDomain",
            dependencies: [
                "AllauthCore",
                "AllauthRuntime",
                "AllauthStore",
                "CCurl",
                "CQRencode",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        // HTTP: the router, handlers, cookies and pages; the only service layer that sees FastCGI.
        .target(
            name: "AllauthHTTP",
            dependencies: [
                "AllauthCore",
                "AllauthRuntime",
                "AllauthStore",
                "AllauthDomain",
                "FastCGI",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "jwt-allauth",
            dependencies: [
                "AllauthCore",
                "AllauthRuntime",
                "AllauthStore",
                "AllauthDomain",
                "AllauthHTTP",
                "FastCGI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "FastCGITests",
            dependencies: ["FastCGI", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "JWTAllauthTests",
            dependencies: [
                "AllauthCore",
                "AllauthRuntime",
                "AllauthStore",
                "AllauthDomain",
                "AllauthHTTP",
                "FastCGI",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            // The SMTP sink the mail tests run (python3-aiosmtpd), the OpenID provider of the
            // social tests (python3-cryptography), the Django project around django-oidc-provider
            // and the script that has Django hash passwords (from PyPI, in venvs), found beside
            // their Swift wrappers.
            exclude: ["Support/smtp_sink.py", "Support/oidc_provider.py", "Support/django_oidc_provider",
                      "Support/django_password_hashes.py"]
        ),
    ]
)
