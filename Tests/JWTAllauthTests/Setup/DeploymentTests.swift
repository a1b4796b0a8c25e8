import Foundation
import Testing
@testable import AllauthDomain

/// `jwt-allauth init`: what it writes, with which permissions, and that nginx accepts the site.
@Suite(.serialized)
struct DeploymentTests {
    static let share = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("init-\(UUID().uuidString.prefix(8))")
    }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test func initWritesTheTOTPKeyInItsOwnClosedFileApartFromTheJWTKeys() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Deployment(options: Deployment.Options(directory: directory, domain: "auth.example.com"), share: Self.share).write()
        let keyFile = directory.appendingPathComponent("keys/mfa.key").path
        #expect(try mode(keyFile) == 0o600)
        var config = try Config.load(path: directory.appendingPathComponent("config.yaml").path, environment: [:])
        #expect(config.mfa.mode == .disabled && config.mfa.secretKey == keyFile)
        #expect(try MFAKey.load(config.mfa) == nil, "no key is read while MFA is disabled")
        config.mfa.mode = .optional
        #expect(try MFAKey.load(config.mfa) != nil)
        let keyText = try String(contentsOfFile: keyFile, encoding: .utf8)
        let refreshText = try String(contentsOf: directory.appendingPathComponent("keys/refresh.key"), encoding: .utf8)
        #expect(Data(base64Encoded: keyText.trimmingCharacters(in: .whitespacesAndNewlines))?.count == 32 && keyText != refreshText)
    }

    @Test func writesConfigKeysSiteAndUnitWithPrivateKeysClosed() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var options = Deployment.Options(directory: directory, domain: "auth.example.com")
        options.algorithm = .es256
        options.trustedProxies = ["10.0.0.0/8"]
        options.email = true
        try Deployment(options: options, share: Self.share).write()

        let keys = directory.appendingPathComponent("keys")
        #expect(try mode(keys.path) == 0o700)
        #expect(try mode(keys.appendingPathComponent("private.pem").path) == 0o600)
        #expect(try mode(keys.appendingPathComponent("refresh.key").path) == 0o600)
        let config = try Config.load(path: directory.appendingPathComponent("config.yaml").path, environment: [:])
        #expect(config.tokens.algorithm == .es256)
        #expect(config.mail.transport == .smtp && config.mail.smtpSecurity == .starttls)
        let keySet = try KeySet.load(config.tokens)
        #expect(keySet.accessSigner.algorithm == "ES256")
        #expect(config.cookies.refresh.name == "__Host-refresh_token", "an HTTPS site gets the cookie no subdomain can toss")
        #expect(config.tokens.rotationGrace == 10)

        let site = try String(contentsOf: directory.appendingPathComponent("nginx/auth.example.com.conf"), encoding: .utf8)
        for expected in ["listen 443 ssl", "return 301 https://$host$request_uri", "set_real_ip_from 10.0.0.0/8;",
                         "limit_req zone=jwt_allauth_credentials", "client_max_body_size 64k", "fastcgi_pass jwt_allauth",
                         "server unix:/run/jwt-allauth/jwt-allauth.sock", "server_name auth.example.com",
                         "limit_conn jwt_allauth_addresses", "client_body_timeout", "keepalive_timeout 3s",
                         "include /etc/nginx/jwt-allauth/json-errors.conf;"] {
            #expect(site.contains(expected), "\(expected)")
        }
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("nginx/json-errors.conf").path))
        let unit = try String(contentsOf: directory.appendingPathComponent("jwt-allauth.service"), encoding: .utf8)
        #expect(unit.contains("serve --config \(directory.standardizedFileURL.path)/config.yaml"))
        #expect(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"))
    }

    @Test func metricsAreOnlyForTheAllowlistAndEventsGoToTheLogsDirectory() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var options = Deployment.Options(directory: directory, domain: "auth.example.com")
        options.algorithm = .es256
        try Deployment(options: options, share: Self.share).write()
        let site = try String(contentsOf: directory.appendingPathComponent("nginx/auth.example.com.conf"), encoding: .utf8)
        #expect(site.contains("location = /jwt-allauth/metrics/ {\n        allow 127.0.0.1;\n        allow ::1;\n        deny all;"), "\(site)")
        let config = try Config.load(path: directory.appendingPathComponent("config.yaml").path, environment: [:])
        #expect(config.securityEventsPath == "/var/log/jwt-allauth/security.log")
        let unit = try String(contentsOf: directory.appendingPathComponent("jwt-allauth.service"), encoding: .utf8)
        #expect(unit.contains("LogsDirectory=jwt-allauth"), "the unit makes the directory the events go to")

        options.force = true
        options.metricsFrom = ["10.1.2.3", "192.0.2.0/24"]
        try Deployment(options: options, share: Self.share).write()
        let restricted = try String(contentsOf: directory.appendingPathComponent("nginx/auth.example.com.conf"), encoding: .utf8)
        #expect(restricted.contains("        allow 10.1.2.3;\n        allow 192.0.2.0/24;\n        deny all;"))
        #expect(!restricted.contains("allow 127.0.0.1;"))
    }

    @Test func neverOverwritesKeysWithoutForce() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var options = Deployment.Options(directory: directory, domain: "example.org")
        options.algorithm = .edDSA
        try Deployment(options: options, share: Self.share).write()
        let key = directory.appendingPathComponent("keys/private.pem")
        let original = try String(contentsOf: key, encoding: .utf8)
        #expect(throws: Deployment.InitError.self) { try Deployment(options: options, share: Self.share).write() }
        #expect(try String(contentsOf: key, encoding: .utf8) == original)
        options.force = true
        try Deployment(options: options, share: Self.share).write()
        #expect(try String(contentsOf: key, encoding: .utf8) != original)
        #expect(try mode(key.path) == 0o600)
    }

    @Test func refusesAHostileDomain() {
        let options = Deployment.Options(directory: temporaryDirectory(), domain: "evil.com; return 200")
        #expect(throws: Deployment.InitError.self) { try Deployment(options: options, share: Self.share).write() }
    }

    /// With `verify.cache` set (from the environment, as an operator running init would), the site
    /// carries the cache zone and auth-request.conf the cache, and nginx accepts both; without, neither.
    @Test(arguments: ["0s", "5s"]) func nginxAcceptsTheGeneratedSite(verifyCache: String) throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var options = Deployment.Options(directory: directory, domain: "auth.example.com")
        options.algorithm = .hs256
        options.socket = directory.appendingPathComponent("jwt-allauth.sock").path
        options.environment = ["JWT_ALLAUTH_VERIFY_CACHE": verifyCache]
        try Deployment(options: options, share: Self.share).write()
        let authRequest = try String(contentsOf: directory.appendingPathComponent("nginx/auth-request.conf"), encoding: .utf8)
        #expect(authRequest.contains("fastcgi_cache jwt_allauth_verify;") == (verifyCache != "0s"))
        #expect(authRequest.contains("fastcgi_cache_valid 200 5s;") == (verifyCache != "0s"))
        #expect(!authRequest.contains("{{"))
        // Point the site at a throwaway certificate and at the copied params, then ask nginx.
        let certificate = directory.appendingPathComponent("cert.pem").path, key = directory.appendingPathComponent("cert.key").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=test",
                             "-keyout", key, "-out", certificate, "-days", "1"]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        var site = try String(contentsOf: directory.appendingPathComponent("nginx/auth.example.com.conf"), encoding: .utf8)
        site = site.replacingOccurrences(of: "/etc/letsencrypt/live/auth.example.com/fullchain.pem", with: certificate)
            .replacingOccurrences(of: "/etc/letsencrypt/live/auth.example.com/privkey.pem", with: key)
            .replacingOccurrences(of: "/etc/nginx/jwt-allauth/", with: directory.appendingPathComponent("nginx").path + "/")
            .replacingOccurrences(of: NginxVerifyCache.sitePath, with: directory.appendingPathComponent("verify-cache").path)
        #expect(site.contains("keys_zone=jwt_allauth_verify") == (verifyCache != "0s"))
        // The protected location of auth-request.conf's comment, so nginx checks the snippet too.
        let includeAuthRequest = "include \(directory.appendingPathComponent("nginx/auth-request.conf").path);\n"
            + "    location /app/ { auth_request /_jwt_allauth_verify; return 204; }\n"
        site = site.replacingOccurrences(of: "    # To protect another application", with: includeAuthRequest + "    # To protect another application")
        let sitePath = directory.appendingPathComponent("site.conf").path
        try site.write(toFile: sitePath, atomically: true, encoding: .utf8)
        let main = "pid \(directory.path)/nginx.pid; error_log stderr; events {} http { include \(sitePath); }"
        let mainPath = directory.appendingPathComponent("nginx.conf").path
        try main.write(toFile: mainPath, atomically: true, encoding: .utf8)
        let nginx = Process()
        nginx.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
        nginx.arguments = ["-t", "-q", "-p", directory.path, "-c", mainPath]
        let errors = Pipe()
        nginx.standardError = errors
        try nginx.run()
        nginx.waitUntilExit()
        let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(nginx.terminationStatus == 0, "nginx -t: \(output)")
    }
}
