import AllauthCore
import Foundation

extension Config {
    /// One cookie's attributes, as `Set-Cookie` writes them.
    public struct Cookie: Sendable {
        /// A cookie whose name starts with this is only accepted by browsers when it is Secure,
        /// has Path=/ and no Domain: no sibling subdomain can set or overwrite it.
        public static let hostPrefix = "__Host-"

        /// An RFC 6265 cookie name: visible ASCII except the separators.
        static func isValidName(_ name: String) -> Bool {
            let separators = Set("()<>@,;:\\\"/[]?={}".utf8)
            return !name.isEmpty && name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && !separators.contains($0) }
        }

        public var name: String
        public var httpOnly: Bool
        public var secure: Bool
        public var sameSite: String
        /// nil: a session cookie.
        public var maxAge: Int?
        public var path: String
        public var domain: String?

        package init(name: String, httpOnly: Bool, secure: Bool, sameSite: String, maxAge: Int?, path: String, domain: String?) {
            self.name = name
            self.httpOnly = httpOnly
            self.secure = secure
            self.sameSite = sameSite
            self.maxAge = maxAge
            self.path = path
            self.domain = domain
        }
    }

    /// The `cookies` section: the refresh cookie, the two capability cookies, and the origins
    /// allowed to make the service set or clear them.
    public struct Cookies: Sendable {
        public var refreshAsCookie: Bool
        public var refresh: Cookie
        public var passwordReset: Cookie
        public var passwordSet: Cookie
        /// Origins allowed to send a cookie-mode refresh (besides requests with no Origin header).
        public var allowedOrigins: [String]

        enum Key {
            static let refreshAsCookie = SettingKey("cookies.refresh_as_cookie", default: "`true`",
                                                    "refresh token in an HttpOnly cookie; `false`: in JSON bodies")
            static let refreshName = SettingKey("cookies.refresh_name", default: "`refresh_token`", """
                the cookie's name; `init` writes `__Host-refresh_token` for HTTPS sites (see [below](#the-__host--cookie))
                """)
            static let refresh = CookieKeys(
                httpOnly: SettingKey("cookies.refresh_http_only", default: "`true`", ""),
                secure: SettingKey("cookies.refresh_secure", default: "`true`", "(`false` only in the local plain-HTTP instance)"),
                sameSite: SettingKey("cookies.refresh_same_site", default: "`Lax`", "`Lax`, `Strict` or `None` (needs Secure)"),
                maxAge: SettingKey("cookies.refresh_max_age", default: "refresh lifetime", "`null`: a session cookie"),
                path: SettingKey("cookies.refresh_path", default: "`/`", "e.g. `/jwt-allauth/` to send it only to the API"),
                domain: SettingKey("cookies.refresh_domain", default: "unset", ""))
            static let allowedOrigins = SettingKey("cookies.allowed_origins", default: "`[]`", """
                origins besides `server.public_url` allowed to call the endpoints that set or clear the cookie (`login/`, \
                `refresh/`, `logout/`, `logout-all/`; requests without `Origin` pass), and the frontends the API answers \
                cross-origin requests for (CORS, with credentials: [deploying.md](deploying.md#frontends-on-other-origins-cors))
                """)
            static let passwordReset = CookieKeys("password_reset", SettingRow(
                ["cookies.password_reset_*"], default: "HttpOnly, Secure, Lax, `1h`, `/`",
                "the reset capability cookie (same six attributes); the capability lives as long as the cookie"))
            static let passwordSet = CookieKeys("password_set", SettingRow(
                ["cookies.password_set_*"], default: "HttpOnly, Secure, Lax, `24h`, `/`",
                "the set-password capability cookie (the invitation link's)"))
        }

        /// The six attribute keys of one cookie, `cookies.<prefix>_http_only` … `_domain`.
        struct CookieKeys {
            var httpOnly, secure, sameSite, maxAge, path, domain: SettingKey

            init(httpOnly: SettingKey, secure: SettingKey, sameSite: SettingKey, maxAge: SettingKey, path: SettingKey, domain: SettingKey) {
                (self.httpOnly, self.secure, self.sameSite, self.maxAge, self.path, self.domain) = (httpOnly, secure, sameSite, maxAge, path, domain)
            }

            /// A cookie whose six keys share one row of the reference.
            init(_ prefix: String, _ row: SettingRow) {
                func key(_ attribute: String) -> SettingKey { SettingKey("cookies.\(prefix)_\(attribute)", in: row) }
                self.init(httpOnly: key("http_only"), secure: key("secure"), sameSite: key("same_site"), maxAge: key("max_age"),
                          path: key("path"), domain: key("domain"))
            }

            var prefix: String { String(httpOnly.name.dropFirst("cookies.".count).dropLast("_http_only".count)) }
        }

        /// `refreshMaxAge`: the refresh cookie's default lifetime, the refresh token's.
        static func parse(_ r: inout ConfigReader, refreshMaxAge: Int) throws(ConfigError) -> Cookies {
            let refreshAsCookie = try r.bool(Key.refreshAsCookie, default: true)
            let refresh = try cookie(&r, Key.refresh, name: try r.string(Key.refreshName, default: "refresh_token"), maxAge: refreshMaxAge)
            let allowedOrigins = try r.stringList(Key.allowedOrigins, default: []).map { origin throws(ConfigError) in
                try Config.origin(origin, key: Key.allowedOrigins)
            }
            return Cookies(
                refreshAsCookie: refreshAsCookie,
                refresh: refresh,
                passwordReset: try cookie(&r, Key.passwordReset, name: "password_reset_access_token", maxAge: 3600),
                passwordSet: try cookie(&r, Key.passwordSet, name: "set_password_access_token", maxAge: 86400),
                allowedOrigins: allowedOrigins
            )
        }

        private static func cookie(_ r: inout ConfigReader, _ keys: CookieKeys, name: String, maxAge: Int?) throws(ConfigError) -> Cookie {
            let prefix = keys.prefix
            let httpOnly = try r.bool(keys.httpOnly, default: true)
            let secure = try r.bool(keys.secure, default: true)
            let sameSite = try r.choice(keys.sameSite, default: "Lax", ["lax": "Lax", "strict": "Strict", "none": "None"])
            if sameSite == "None" && !secure {
                throw ConfigError(key: keys.sameSite.name, problem: "SameSite=None requires \(prefix)_secure: true")
            }
            var age = maxAge
            if let text = try r.optionalString(keys.maxAge) {
                guard let seconds = ConfigReader.parseDuration(text) else {
                    throw ConfigError(key: keys.maxAge.name, problem: "expected a duration or \"session\"")
                }
                age = Int(seconds)
            } else if r.isExplicitlyNull(keys.maxAge) {
                age = nil
            }
            let cookie = Cookie(name: name, httpOnly: httpOnly, secure: secure, sameSite: sameSite, maxAge: age,
                                path: try r.string(keys.path, default: "/"), domain: try r.optionalString(keys.domain))
            // Browsers drop a __Host- cookie that breaks these rules: refuse it at start instead.
            let nameKey = "cookies.\(prefix)_name"
            if cookie.name.hasPrefix(Cookie.hostPrefix) && (!cookie.secure || cookie.path != "/" || cookie.domain != nil) {
                throw ConfigError(key: nameKey,
                                  problem: "a \(Cookie.hostPrefix) cookie needs \(prefix)_secure: true, \(prefix)_path: / and no \(prefix)_domain")
            }
            guard Cookie.isValidName(cookie.name) else {
                throw ConfigError(key: nameKey, problem: "not a valid cookie name")
            }
            return cookie
        }
    }
}
