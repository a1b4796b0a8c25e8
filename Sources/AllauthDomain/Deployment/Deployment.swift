import AllauthRuntime
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `jwt-allauth init`: writes everything a deployment needs into one directory — configuration,
/// a fresh key pair and refresh secret, an nginx site and the systemd units.
///
/// A site's files are root's: the directory, `keys/` and the secrets are readable by the
/// service's group (`serviceGroupID`) and nobody else, so the service reads its configuration and
/// keys but cannot change them (and its unit makes /etc read-only besides). Its data is not here:
/// the database lives in the unit's StateDirectory, `/var/lib/jwt-allauth` (0700, the service
/// user's). A local instance (`jwt-allauth dev`) keeps everything in its own directory instead.
public struct Deployment {
    /// Where a site's database lives: the units' `StateDirectory=jwt-allauth`.
    public static let stateDirectory = "/var/lib/jwt-allauth"
    /// The socket's directory the units make (`RuntimeDirectory=jwt-allauth`).
    public static let runtimeDirectory = "/run/jwt-allauth"

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
        /// The service's own group: the one that may read the configuration and keys.
        public var group = "jwt-allauth"
        /// nginx's group, given the socket (`server.socket_group`) and only that.
        public var socketGroup = "www-data"
        /// `group`'s id when it exists here: the site's files are then given to it (as root); nil
        /// leaves them the writer's (the next steps say what to run).
        public var serviceGroupID: gid_t?
        public var binary = "/usr/local/bin/jwt-allauth"
        /// Only the nginx files and the systemd units, from the configuration already there; the
        /// configuration and keys are left as they are (`init --site-only`).
        public var siteOnly = false
        /// The installed nginx takes `http2 on;` (1.25.1 and later, where `listen … http2` is
        /// deprecated); older ones the `listen` parameter. `init` asks `nginx -v`.
        public var http2Directive = false
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
        case noConfiguration(String)

        public var description: String {
            switch self {
            case .exists(let path): return "\(path) exists; pass --force to replace it"
            case .invalidDomain(let domain): return "\"\(domain)\" is not a host name"
            case .noConfiguration(let path): return "\(path) does not exist: --site-only regenerates the site of a configured directory; run init without it first"
            }
        }
    }

    /// The systemd units `init` writes beside the configuration (the package ships the same three,
    /// rendered by packaging/install.sh for /etc/jwt-allauth).
    public static let unitFiles = ["jwt-allauth.service", "jwt-allauth-purge.service", "jwt-allauth-purge.timer"]

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
        let development = options.developmentPort
        // A site's secrets are shared with the service's group (read-only); a local instance's are its user's alone.
        let site = development == nil
        var written: [String] = []
        func save(_ text: String, _ url: URL, mode: Int) throws {
            try Self.save(text, url, mode: mode_t(mode), group: site ? options.serviceGroupID : nil)
            written.append(url.path)
        }
        if options.siteOnly {
            let configPath = root.appendingPathComponent("config.yaml").path
            guard fm.fileExists(atPath: configPath) else { throw InitError.noConfiguration(configPath) }
            try writeSite(Config.load(path: configPath, environment: options.environment), root: root, save: save)
            return written
        }
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        let keys = root.appendingPathComponent("keys")
        try fm.createDirectory(at: keys, withIntermediateDirectories: true)
        if site {
            try Self.restrict(root.path, mode: 0o750, group: options.serviceGroupID)
            try Self.restrict(keys.path, mode: 0o750, group: options.serviceGroupID)
        } else {
            try Self.restrict(keys.path, mode: 0o700, group: nil)
        }

        let signingFile = options.algorithm == .hs256 ? "signing.key" : "private.pem"
        var planned = [keys.appendingPathComponent(signingFile), keys.appendingPathComponent("refresh.key"),
                       keys.appendingPathComponent("mfa.key"), root.appendingPathComponent("config.yaml")]
        if options.algorithm != .hs256 { planned.append(keys.appendingPathComponent("public.pem")) }
        if !options.force {
            // Never replace a key (or the config pointing at it) by accident: tokens signed with it would die.
            for url in planned where fm.fileExists(atPath: url.path) { throw InitError.exists(url.path) }
        }

        // Read by the service through its group on a site; never by anyone else.
        let secretMode = site ? 0o640 : 0o600
        let (privatePEM, publicPEM) = try KeySet.generate(options.algorithm)
        try save(privatePEM, keys.appendingPathComponent(signingFile), mode: secretMode)
        if let publicPEM { try save(publicPEM, keys.appendingPathComponent("public.pem"), mode: 0o644) }
        try save(KeySet.generateSecret(), keys.appendingPathComponent("refresh.key"), mode: secretMode)
        // The TOTP sealing key: its own file, never the JWT key (MFAKey).
        try save(MFAKey.generate(), keys.appendingPathComponent("mfa.key"), mode: secretMode)
        try save("*.pem\n*.key\n", keys.appendingPathComponent(".gitignore"), mode: 0o644)

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
            // nginx's group gets the socket on a site; the local nginx runs as the instance's user.
            "socket_group": development != nil ? "null" : options.socketGroup,
            "public_url": development.map { "http://127.0.0.1:\($0)" } ?? "https://\(domain)",
            // A site's data is the service's alone, in its StateDirectory, apart from the root-owned configuration.
            "database": development != nil ? "jwt-allauth.sqlite3" : "\(Self.stateDirectory)/jwt-allauth.sqlite3",
            "algorithm": options.algorithm.rawValue, "signing_key_file": signingFile,
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
        try writeSite(Config.load(path: root.appendingPathComponent("config.yaml").path, environment: options.environment),
                      root: root, save: save)
        return written
    }

    /// The nginx files and the systemd units, from `config` (written just now, or by an earlier `init`).
    private func writeSite(_ savedConfig: Config, root: URL, save: (String, URL, Int) throws -> Void) throws {
        let domain = options.domain
        let nginx = root.appendingPathComponent("nginx")
        try FileManager.default.createDirectory(at: nginx, withIntermediateDirectories: true)
        // The include files the site uses, copied as shipped (the next steps put them in /etc/nginx/jwt-allauth/);
        // auth-request.conf with the verify.cache lines the config asks for (the environment included).
        let verifyCache = NginxVerifyCache(savedConfig.verify,
                                           path: NginxVerifyCache.sitePath)
        for snippet in ["fastcgi-params.conf", "json-errors.conf"] {
            try save(try String(contentsOf: share.appendingPathComponent("nginx/\(snippet)"), encoding: .utf8),
                     nginx.appendingPathComponent(snippet), 0o644)
        }
        try save(try render("nginx/auth-request.conf", ["verify_cache": verifyCache.location]),
                 nginx.appendingPathComponent("auth-request.conf"), 0o644)
        let monitoring = options.metricsFrom.isEmpty ? ["127.0.0.1", "::1"] : options.metricsFrom
        let proxies = options.trustedProxies.isEmpty ? ["127.0.0.1", "::1"] : options.trustedProxies
        let site = try render("nginx/site.conf.template", [
            "domain": domain, "socket": savedConfig.server.socket, "max_body": "64k",
            "params": "/etc/nginx/jwt-allauth/fastcgi-params.conf", "errors": "/etc/nginx/jwt-allauth/json-errors.conf",
            "realip": proxies.map { "    set_real_ip_from \($0);" }.joined(separator: "\n"),
            "metrics_allow": monitoring.map { "        allow \($0);" }.joined(separator: "\n"),
            "monitoring_geo": monitoring.map { "    \($0) 1;" }.joined(separator: "\n"),
            "verify_cache_zone": verifyCache.zone,
            "listen_http2": options.http2Directive ? "" : " http2",
            "http2": options.http2Directive ? "\n    http2 on;" : "",
        ])
        try save(site, nginx.appendingPathComponent("\(domain).conf"), 0o644)

        for (name, text) in try units(socket: savedConfig.server.socket, config: root.appendingPathComponent("config.yaml").path) {
            try save(text, root.appendingPathComponent(name), 0o644)
        }
    }

    /// `unitFiles`, rendered: the sandbox (config/jwt-allauth-sandbox.conf) is the same in the
    /// service and the purge; beyond the directories systemd makes for them, the only path left
    /// writable is a socket directory outside /run/jwt-allauth (`--socket`).
    func units(socket: String, config: String) throws -> [(String, String)] {
        let socketDirectory = URL(fileURLWithPath: socket).deletingLastPathComponent().standardizedFileURL.path
        var values = [
            "user": options.user, "group": options.group, "socket_group": options.socketGroup, "binary": options.binary,
            "config": config, "read_write_paths": socketDirectory == Self.runtimeDirectory ? "" : socketDirectory,
        ]
        // Its lines stand where the {{sandbox}} line stood, as packaging/install.sh's sed puts them.
        var sandbox = try render("config/jwt-allauth-sandbox.conf", values)
        while sandbox.hasSuffix("\n") { sandbox.removeLast() }
        values["sandbox"] = sandbox
        return try Self.unitFiles.map { name in
            (name, try render(name.hasSuffix(".timer") ? "config/\(name)" : "config/\(name).template", values))
        }
    }

    /// Writes `text` to a file created with `mode` (fchmod past the umask, so a secret is never
    /// readable by others, even briefly), given to `group` when one is set.
    private static func save(_ text: String, _ url: URL, mode: mode_t, group: gid_t?) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path]) }
        defer { close(fd) }
        // The group before the mode: a key shared with the service's group is never shared with another.
        if let group, fchown(fd, uid_t.max, group) != 0 {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path])
        }
        fchmod(fd, mode)
        let bytes = Array(text.utf8)
        let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard count == bytes.count else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path]) }
    }

    private static func restrict(_ path: String, mode: mode_t, group: gid_t?) throws {
        if let group, chown(path, uid_t.max, group) != 0 {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        chmod(path, mode)
    }

    private func render(_ relativePath: String, _ values: [String: String]) throws -> String {
        try TemplateText.render(String(contentsOf: share.appendingPathComponent(relativePath), encoding: .utf8), values)
    }
}
