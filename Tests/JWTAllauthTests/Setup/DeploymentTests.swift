import Foundation
import Testing
@testable import AllauthDomain

#if canImport(Glibc)
import Glibc
#endif

/// `jwt-allauth init`: what it writes, with which permissions, and that nginx accepts the site.
@Suite(.serialized)
struct DeploymentTests {
    static let share = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("init-\(UUID().uuidString.prefix(8))")
    }

    /// `init` into a fresh directory with `configure`'s options; the caller removes it.
    func initialise(_ configure: (inout Deployment.Options) -> Void) throws -> URL {
        let directory = temporaryDirectory()
        var options = Deployment.Options(directory: directory, domain: "auth.example.com")
        configure(&options)
        try Deployment(options: options, share: Self.share).write()
        return directory
    }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test func initWritesTheTOTPKeyInItsOwnClosedFileApartFromTheJWTKeys() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Deployment(options: Deployment.Options(directory: directory, domain: "auth.example.com"), share: Self.share).write()
        let keyFile = directory.appendingPathComponent("keys/mfa.key").path
        #expect(try mode(keyFile) == 0o640, "root's, read by the service's group")
        var config = try Config.load(path: directory.appendingPathComponent("config.yaml").path, environment: [:])
        #expect(config.mfa.mode == .disabled && config.mfa.secretKey == keyFile)
        #expect(try MFAKey.load(config.mfa) == nil, "no key is read while MFA is disabled")
        config.mfa.mode = .optional
        #expect(try MFAKey.load(config.mfa) != nil)
        let keyText = try String(contentsOfFile: keyFile, encoding: .utf8)
        let refreshText = try String(contentsOf: directory.appendingPathComponent("keys/refresh.key"), encoding: .utf8)
        #expect(Data(base64Encoded: keyText.trimmingCharacters(in: .whitespacesAndNewlines))?.count == 32 && keyText != refreshText)
    }

    func group(_ path: String) -> gid_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_gid : gid_t.max
    }

    @Test func writesConfigKeysSiteAndUnitWithPrivateKeysClosed() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var options = Deployment.Options(directory: directory, domain: "auth.example.com")
        options.algorithm = .es256
        options.trustedProxies = ["10.0.0.0/8"]
        options.email = true
        // The group init gives a site's files: here the test's own, one it may give them to.
        options.serviceGroupID = getegid()
        try Deployment(options: options, share: Self.share).write()

        let keys = directory.appendingPathComponent("keys")
        #expect(try mode(directory.path) == 0o750 && mode(keys.path) == 0o750)
        for secret in ["private.pem", "refresh.key", "mfa.key"] {
            let path = keys.appendingPathComponent(secret).path
            #expect(try mode(path) == 0o640 && group(path) == getegid(), "\(secret): read by the service's group, no one else")
        }
        #expect(try mode(keys.appendingPathComponent("public.pem").path) == 0o644)
        #expect(try mode(directory.appendingPathComponent("config.yaml").path) == 0o640)
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
        #expect(config.database.path == "/var/lib/jwt-allauth/jwt-allauth.sqlite3", "a site's data is apart from its root-owned config")
        #expect(config.server.socketGroup == getgrnam("www-data")?.pointee.gr_gid, "nginx's group gets the socket")
    }

    /// The unit `systemd-analyze security` scores and the deployment test runs under sandbox.py.
    @Test func theUnitIsANotifyServiceInItsSandboxAndThePurgeSharesIt() throws {
        let directory = try initialise { $0.algorithm = .es256; $0.binary = "/usr/bin/jwt-allauth" }
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.standardizedFileURL.appendingPathComponent("config.yaml").path
        let unit = try String(contentsOf: directory.appendingPathComponent("jwt-allauth.service"), encoding: .utf8)
        let purge = try String(contentsOf: directory.appendingPathComponent("jwt-allauth-purge.service"), encoding: .utf8)
        let timer = try String(contentsOf: directory.appendingPathComponent("jwt-allauth-purge.timer"), encoding: .utf8)
        for line in ["Type=notify", "NotifyAccess=main", "User=jwt-allauth", "Group=jwt-allauth", "SupplementaryGroups=www-data",
                     "ExecStartPre=/usr/bin/jwt-allauth check --config \(config)", "ExecStart=/usr/bin/jwt-allauth serve --config \(config)",
                     "KillMode=mixed", "RuntimeDirectoryMode=0711", "LogsDirectoryMode=0700"] {
            #expect(unit.contains("\n\(line)\n"), "\(line)")
        }
        let sandbox = ["StateDirectory=jwt-allauth", "StateDirectoryMode=0700", "UMask=0077", "ProtectSystem=strict", "ReadWritePaths=\n",
                       "CapabilityBoundingSet=\n", "PrivateDevices=yes", "ProtectProc=invisible", "ProcSubset=pid",
                       "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "MemoryDenyWriteExecute=yes",
                       "SystemCallFilter=@system-service\n", "SystemCallFilter=~@privileged @resources\n",
                       "SystemCallFilter=setpriority chown\n", "SystemCallErrorNumber=EPERM\n"]
        for line in sandbox {
            #expect(unit.contains("\n\(line)"), "the service: \(line)")
            #expect(purge.contains("\n\(line)"), "the purge: \(line)")
        }
        #expect(purge.contains("\nType=oneshot\n") && purge.contains("\nExecStart=/usr/bin/jwt-allauth purge-tokens --config \(config)\n"))
        #expect(purge.contains("\nConditionPathExists=\(config)\n"))
        #expect(timer.contains("\nOnCalendar=daily\n") && timer.contains("\nPersistent=true\n"))
        for text in [unit, purge] { #expect(!text.contains("{{"), "\(text)") }
        #expect(!unit.contains("ReadWritePaths=/"), "nothing writable beyond the unit's own directories")
    }

    @Test func aSocketOutsideTheRuntimeDirectoryIsTheOnlyPathMadeWritable() throws {
        let directory = try initialise { $0.algorithm = .hs256; $0.socket = "/srv/fastcgi/jwt-allauth.sock" }
        defer { try? FileManager.default.removeItem(at: directory) }
        let unit = try String(contentsOf: directory.appendingPathComponent("jwt-allauth.service"), encoding: .utf8)
        #expect(unit.contains("\nReadWritePaths=/srv/fastcgi\n"))
    }

    /// `init --site-only`: the nginx files and units again (after an upgrade), never the config or a key.
    @Test func siteOnlyRewritesTheSiteAndUnitsAndLeavesConfigAndKeys() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var options = Deployment.Options(directory: directory, domain: "auth.example.com")
        options.algorithm = .es256
        options.siteOnly = true
        #expect(throws: Deployment.InitError.self, "nothing to regenerate from") { try Deployment(options: options, share: Self.share).write() }
        options.siteOnly = false
        try Deployment(options: options, share: Self.share).write()
        let key = directory.appendingPathComponent("keys/private.pem"), config = directory.appendingPathComponent("config.yaml")
        let unit = directory.appendingPathComponent("jwt-allauth.service")
        let keyText = try String(contentsOf: key, encoding: .utf8)
        let configText = try String(contentsOf: config, encoding: .utf8) + "# edited by the operator\n"
        try configText.write(to: config, atomically: true, encoding: .utf8)
        try "stale".write(to: unit, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(at: directory.appendingPathComponent("nginx"))

        options.siteOnly = true
        options.algorithm = .rs256  // ignored: no key is made
        options.binary = "/opt/jwt-allauth/bin/jwt-allauth"
        let written = try Deployment(options: options, share: Self.share).write()
        #expect(try String(contentsOf: key, encoding: .utf8) == keyText)
        #expect(try String(contentsOf: config, encoding: .utf8) == configText)
        #expect(!written.contains(key.path) && !written.contains(config.path))
        #expect(try String(contentsOf: unit, encoding: .utf8).contains("ExecStart=/opt/jwt-allauth/bin/jwt-allauth serve"))
        for name in ["nginx/auth.example.com.conf", "nginx/auth-request.conf", "jwt-allauth-purge.service", "jwt-allauth-purge.timer"] {
            #expect(written.contains(directory.standardizedFileURL.appendingPathComponent(name).path), "\(name)")
        }
    }

    /// `jwt-allauth dev`: everything in its directory, its user's alone.
    @Test func aLocalInstanceKeepsItsKeysItsUsersAloneAndItsDatabaseBeside() throws {
        let directory = try initialise { $0.domain = "localhost"; $0.algorithm = .es256; $0.developmentPort = 8080; $0.serviceGroupID = getegid() }
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try mode(directory.appendingPathComponent("keys").path) == 0o700)
        #expect(try mode(directory.appendingPathComponent("keys/private.pem").path) == 0o600)
        let config = try Config.load(path: directory.appendingPathComponent("config.yaml").path, environment: [:])
        #expect(config.database.path == directory.standardizedFileURL.appendingPathComponent("jwt-allauth.sqlite3").path)
        #expect(config.server.socketGroup == nil)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("jwt-allauth.service").path))
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
        // health/'s detail goes to the same addresses (a geo nginx passes as JWT_ALLAUTH_MONITORING).
        #expect(restricted.contains("geo $jwt_allauth_monitoring {\n    default 0;\n    10.1.2.3 1;\n    192.0.2.0/24 1;\n}"), "\(restricted)")
        #expect(restricted.contains("fastcgi_param JWT_ALLAUTH_MONITORING $jwt_allauth_monitoring;"))
    }

    @Test func theSiteUsesTheHTTP2DirectiveTheInstalledNginxTakes() throws {
        #expect(NginxVersion(versionLine: "nginx version: nginx/1.22.1") == NginxVersion(1, 22, 1))
        #expect(NginxVersion(versionLine: "nginx version: nginx/1.26.3 (Ubuntu)")?.takesHTTP2Directive == true)
        #expect(NginxVersion(versionLine: "nginx version: nginx/1.25.0")?.takesHTTP2Directive == false)
        #expect(NginxVersion(versionLine: "nginx: command not found") == nil)
        let old = try initialise { _ in }
        let new = try initialise { $0.http2Directive = true }
        defer { for directory in [old, new] { try? FileManager.default.removeItem(at: directory) } }
        let before = try String(contentsOf: old.appendingPathComponent("nginx/auth.example.com.conf"), encoding: .utf8)
        let after = try String(contentsOf: new.appendingPathComponent("nginx/auth.example.com.conf"), encoding: .utf8)
        #expect(before.contains("    listen 443 ssl http2;\n    listen [::]:443 ssl http2;\n    server_name"))
        #expect(!before.contains("http2 on;"))
        #expect(after.contains("    listen 443 ssl;\n    listen [::]:443 ssl;\n    http2 on;\n    server_name"), "\(after)")
    }

    @Test func plainHTTPAnswersCertbotsChallengeFromTheWebrootAndRedirectsEverythingElse() throws {
        let directory = try initialise { _ in }
        defer { try? FileManager.default.removeItem(at: directory) }
        let site = try String(contentsOf: directory.appendingPathComponent("nginx/auth.example.com.conf"), encoding: .utf8)
        let plain = try #require(site.range(of: "    listen 80;").map { site[$0.lowerBound...] })
        let server = plain[..<(plain.range(of: "\n}\n")?.lowerBound ?? plain.endIndex)]
        #expect(server.contains("location ^~ /.well-known/acme-challenge/ {\n        root /var/www/html;"), "\(server)")
        #expect(server.contains("location / {\n        return 301 https://$host$request_uri;"))
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
        #expect(try mode(key.path) == 0o640)
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
