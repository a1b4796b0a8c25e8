import AllauthRuntime
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `jwt-allauth init`: writes everything a deployment needs into one directory — configuration,
/// a fresh key pair and refresh secret, an nginx site and a systemd unit.
public struct Deployment {
    public struct Options {
        public var directory: URL
        public var domain: String
        public var algorithm: TokenAlgorithm = .rs256
        public var email = false
        public var force = false
        public var socket = "/run/jwt-allauth/jwt-allauth.sock"
        public var trustedProxies: [String] = []
        /// Addresses allowed to scrape `metrics/`; loopback when empty.
        public var metricsFrom: [String] = []
        public var user = "jwt-allauth"
        public var group = "www-data"
        public var binary = "/usr/local/bin/jwt-allauth"
        /// A local instance (`jwt-allauth dev`): plain HTTP on 127.0.0.1:port, the socket and
        /// database inside the directory, mail written as .eml files; no nginx site or unit.
        public var developmentPort: Int?
        /// Overrides of the config just written (`JWT_ALLAUTH_VERIFY_CACHE`…), read as `serve` will.
        public var environment = ProcessInfo.processInfo.environment

        public init(directory: URL, domain: String) {
            self.directory = directory
            self.domain = domain
        }
    }

    public enum InitError: Error, CustomStringConvertible {
        case exists(String)
        case invalidDomain(String)

        public var description: String {
            switch self {
            case .exists(let path): return "\(path) exists; pass --force to replace it"
            case .invalidDomain(let domain): return "\"\(domain)\" is not a host name"
            }
        }
    }

    let options: Options
    let share: URL

    public init(options: Options, share: URL) {
        self.options = options
        self.share = share
    }

    /// Writes the files; answers their paths in the order written.
    @discardableResult
    public func write() throws -> [String] {
        let domain = options.domain
        guard !domain.isEmpty, domain.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }) else {
            throw InitError.invalidDomain(domain)
        }
        let fm = FileManager.default
        let root = options.directory.standardizedFileURL
        let keys = root.appendingPathComponent("keys")
        let nginx = root.appendingPathComponent("nginx")
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        try fm.createDirectory(at: keys, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        chmod(keys.path, 0o700)
        try fm.createDirectory(at: nginx, withIntermediateDirectories: true)

        let signingFile = options.algorithm == .hs256 ? "signing.key" : "private.pem"
        var planned = [keys.appendingPathComponent(signingFile), keys.appendingPathComponent("refresh.key"),
                       keys.appendingPathComponent("mfa.key"), root.appendingPathComponent("config.yaml")]
        if options.algorithm != .hs256 { planned.append(keys.appendingPathComponent("public.pem")) }
        if !options.force {
            // Never replace a key (or the config pointing at it) by accident: tokens signed with it would die.
            for url in planned where fm.fileExists(atPath: url.path) { throw InitError.exists(url.path) }
        }

        var written: [String] = []
        func save(_ text: String, _ url: URL, mode: Int) throws {
            // Created with the final mode, so a private key is never readable by others, even briefly.
            let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, mode_t(mode))
            guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path]) }
            fchmod(fd, mode_t(mode))
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            close(fd)
            written.append(url.path)
        }

        let (privatePEM, publicPEM) = try KeySet.generate(options.algorithm)
        try save(privatePEM, keys.appendingPathComponent(signingFile), mode: 0o600)
        if let publicPEM { try save(publicPEM, keys.appendingPathComponent("public.pem"), mode: 0o644) }
        try save(KeySet.generateSecret(), keys.appendingPathComponent("refresh.key"), mode: 0o600)
        // The TOTP sealing key: its own file, never the JWT key (MFAKey).
        try save(MFAKey.generate(), keys.appendingPathComponent("mfa.key"), mode: 0o600)
        try save("*.pem\n*.key\n", keys.appendingPathComponent(".gitignore"), mode: 0o644)

        let development = options.developmentPort
        let mail = development != nil ? """

            mail:
              transport: directory         # each message becomes one .eml file: the local mail catcher
              directory: mail

            """ : options.email ? """

            mail:
              transport: smtp
              from: no-reply@\(domain)
              smtp_host: 127.0.0.1
              smtp_port: 587
              smtp_security: starttls      # none | starttls | tls
              smtp_username: null
              smtp_password_file: null     # a file holding the password, mode 0600

            """ : ""
        let config = try render("config/config.yaml.template", [
            "socket": development != nil ? "run/jwt-allauth.sock" : options.socket,
            "public_url": development.map { "http://127.0.0.1:\($0)" } ?? "https://\(domain)",
            "database": "jwt-allauth.sqlite3", "algorithm": options.algorithm.rawValue, "signing_key_file": signingFile,
            // The local instance is plain HTTP: a Secure cookie would never come back.
            "secure": development != nil ? "false" : "true", "mail": mail,
            // A browser on the local instance may call it localhost rather than 127.0.0.1.
            "allowed_origins": development.map { "[\"http://localhost:\($0)\"]" } ?? "[]",
            // With mail set up (and locally, where mail lands in mail/), sign-ups confirm their address.
            "email_verification": development != nil || options.email ? "mandatory" : "none",
            // HTTPS sites get the __Host- prefix; the local instance keeps the reference's name.
            "refresh_name": development != nil ? "refresh_token" : Config.Cookie.hostPrefix + "refresh_token",
            // The unit's LogsDirectory; config/fail2ban/jwt-allauth.local points at the same file.
            "security_events": development != nil ? "log/security.log" : "/var/log/jwt-allauth/security.log",
        ])
        try save(config, root.appendingPathComponent("config.yaml"), mode: 0o640)
        if development != nil { return written }

        // The include files the site uses, copied as shipped (the next steps put them in /etc/nginx/jwt-allauth/);
        // auth-request.conf with the verify.cache lines the config just written asks for (the environment included).
        let savedConfig = try Config.load(path: root.appendingPathComponent("config.yaml").path, environment: options.environment)
        let verifyCache = NginxVerifyCache(savedConfig.verify,
                                           path: NginxVerifyCache.sitePath)
        for snippet in ["fastcgi-params.conf", "json-errors.conf"] {
            try save(try String(contentsOf: share.appendingPathComponent("nginx/\(snippet)"), encoding: .utf8),
                     nginx.appendingPathComponent(snippet), mode: 0o644)
        }
        try save(try render("nginx/auth-request.conf", ["verify_cache": verifyCache.location]),
                 nginx.appendingPathComponent("auth-request.conf"), mode: 0o644)
        let monitoring = options.metricsFrom.isEmpty ? ["127.0.0.1", "::1"] : options.metricsFrom
        let proxies = options.trustedProxies.isEmpty ? ["127.0.0.1", "::1"] : options.trustedProxies
        let site = try render("nginx/site.conf.template", [
            "domain": domain, "socket": options.socket, "max_body": "64k",
            "params": "/etc/nginx/jwt-allauth/fastcgi-params.conf", "errors": "/etc/nginx/jwt-allauth/json-errors.conf",
            "realip": proxies.map { "    set_real_ip_from \($0);" }.joined(separator: "\n"),
            "metrics_allow": monitoring.map { "        allow \($0);" }.joined(separator: "\n"),
            "monitoring_geo": monitoring.map { "    \($0) 1;" }.joined(separator: "\n"),
            "verify_cache_zone": verifyCache.zone,
        ])
        try save(site, nginx.appendingPathComponent("\(domain).conf"), mode: 0o644)

        let unit = try render("config/jwt-allauth.service.template", [
            "user": options.user, "group": options.group, "binary": options.binary,
            "config": root.appendingPathComponent("config.yaml").path, "state_dir": root.path,
        ])
        try save(unit, root.appendingPathComponent("jwt-allauth.service"), mode: 0o644)
        return written
    }

    private func render(_ relativePath: String, _ values: [String: String]) throws -> String {
        try TemplateText.render(String(contentsOf: share.appendingPathComponent(relativePath), encoding: .utf8), values)
    }
}
