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
        // The service: config, store, tokens, sessions, API.
        .target(
            name: "JWTAllauth",
            dependencies: [
                "FastCGI",
                "CSQLite",
                "CCurl",
                "CQRencode",
                "CPostgreSQL",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        .executableTarget(
            name: "jwt-allauth",
            dependencies: [
                "JWTAllauth",
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
                "JWTAllauth",
                "FastCGI",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            // The SMTP sink the mail tests run (python3-aiosmtpd), the OpenID provider of the
            // social tests (python3-cryptography) and the Django project around django-oidc-provider
            // (from PyPI, in a venv), found beside their Swift wrappers.
            exclude: ["Support/smtp_sink.py", "Support/oidc_provider.py", "Support/django_oidc_provider"]
        ),
    ]
)
