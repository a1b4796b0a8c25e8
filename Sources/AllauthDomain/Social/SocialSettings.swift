import AllauthCore
import Foundation

/// One OpenID Connect provider of `social.providers`.
public struct SocialProvider: Sendable {
    /// How a provider's client authenticates at its token endpoint.
    public enum ClientSecret: Sendable {
        case none
        /// A shared secret, from the config or from `client_secret_file`.
        case shared(String)
        /// Apple's: an ES256 JWT the service signs with the developer key (`team_id`, `key_id`,
        /// `private_key_file`), minted fresh for each code exchange.
        case appleJWT(teamID: String, keyID: String, privateKeyPEM: String)
    }

    /// The id in the URLs (`social/<id>/token/`).
    public var id: String
    public var name: String
    /// The `iss` of its id_tokens; discovery is read from `<issuer>/.well-known/openid-configuration`.
    /// Microsoft's multi-tenant issuers contain `{tenantid}`, filled from each token's `tid`.
    public var issuer: String
    /// `<issuer>/.well-known/openid-configuration`; for a multi-tenant issuer, the configured tenant's.
    public var discoveryURL: String
    public var clientID: String
    public var clientSecret: ClientSecret
    public var scopes: [String]
    /// The files its secret came from (`client_secret_file`, `private_key_file`), so `check` can
    /// see who may read them.
    public var secretFiles: [String] = []
}

/// `social.email_linking`: on, off, or only for the listed providers.
public enum EmailLinking: Sendable, Equatable {
    case all, none
    case providers(Set<String>)

    func allows(_ provider: String) -> Bool {
        switch self {
        case .all: return true
        case .none: return false
        case .providers(let ids): return ids.contains(provider)
        }
    }
}

/// The `social` section: social login over OpenID Connect (docs/api.md and docs/configuration.md, "Social login").
public struct SocialSettings: Sendable {
    public var providers: [SocialProvider]
    public var emailLinking: EmailLinking
    public var requireVerifiedEmail: Bool
    public var autoSignup: Bool
    /// The code flow's allowed `callback_url`s, compared whole; none: the code flow is refused.
    public var callbackURLs: [String]
    /// Bounds every request to a provider (discovery, JWKS, code exchange).
    public var httpTimeout: TimeInterval

    public func provider(_ id: String) -> SocialProvider? { providers.first { $0.id == id } }
}

extension SocialSettings {
    enum Key {
        static let providers = SettingKey("social.providers", default: "`{}`", """
            id → `{name, issuer, client_id, client_secret` or `client_secret_file, scopes}`; a YAML flow value from the \
            environment works too: `JWT_ALLAUTH_SOCIAL_PROVIDERS='{example: {name: Example, issuer: "http://127.0.0.1:9000", \
            client_id: abc, client_secret: s3cret}}'`
            """)
        static let emailLinking = SettingKey("social.email_linking", default: "`false`", """
            link a verified provider address to the account holding it: `true`, `false` or a list of provider ids \
            (what that trusts: [api.md](api.md#social-login-openid-connect))
            """)
        static let requireVerifiedEmail = SettingKey("social.require_verified_email", default: "`true`",
                                                     "refuse provider addresses the provider does not mark verified")
        static let autoSignup = SettingKey("social.auto_signup", default: "`true`", "create accounts for new provider identities")
        static let callbackURLs = SettingKey("social.callback_urls", default: "none (code flow off)",
                                             "the code flow's allowed `callback_url`s: absolute http(s) URLs, compared whole")
        static let httpTimeout = SettingKey("social.http_timeout", default: "`5s`", "bounds each request to a provider (connect at most 3 s of it)")
    }

    /// The provider ids with a preset: what is left out of their entry comes from here.
    static let presets: [String: (name: String, issuer: String)] = [
        "google": ("Google", "https://accounts.google.com"),
        // `tenant` picks the directory: common, organizations, consumers or a tenant id.
        "microsoft": ("Microsoft", "https://login.microsoftonline.com/{tenant}/v2.0"),
        "apple": ("Apple", "https://appleid.apple.com"),
    ]

    package static func parse(_ r: inout ConfigReader) throws(ConfigError) -> SocialSettings {
        var providers: [SocialProvider] = []
        for (id, node) in try r.mapping(Key.providers) {
            let key = "social.providers.\(id)"
            guard !id.isEmpty, id.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F }) else {
                throw ConfigError(key: key, problem: "a provider id is lower-case letters, digits, - and _")
            }
            var entry = try NestedKeys(key, node)
            let preset = presets[id]
            let name = try entry.optionalString("name") ?? preset?.name ?? id
            var issuer = try entry.optionalString("issuer") ?? preset?.issuer ?? ""
            if id == "microsoft" {
                issuer = issuer.replacingOccurrences(of: "{tenant}", with: try entry.optionalString("tenant") ?? "common")
            }
            let discoveryIssuer = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
            // The multi-tenant endpoints name the tenant of each token in its `iss` (and their
            // discovery document says `{tenantid}`).
            if issuer.hasPrefix("https://login.microsoftonline.com/") {
                issuer = issuer.replacingOccurrences(of: #"/(common|organizations|consumers)/"#, with: "/{tenantid}/", options: .regularExpression)
            }
            guard let url = URL(string: issuer.replacingOccurrences(of: "{tenantid}", with: "t")), ["http", "https"].contains(url.scheme ?? ""),
                  url.host != nil
            else { throw ConfigError(key: "\(key).issuer", problem: "expected an http(s) URL, got \"\(issuer)\"") }
            let clientID = try entry.string("client_id")
            var secret = SocialProvider.ClientSecret.none
            var secretFiles: [String] = []
            if let text = try entry.optionalString("client_secret") {
                secret = .shared(text)
            }
            if let path = try entry.optionalString("client_secret_file") {
                secretFiles.append(r.resolve(path))
                let text = try ConfigReader.readText(path: r.resolve(path))
                secret = .shared(String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? ""))
            }
            let teamIDGiven = try entry.optionalString("team_id") != nil
            if id == "apple" || teamIDGiven {
                let teamID = try entry.string("team_id")
                let keyID = try entry.string("key_id")
                let keyFile = r.resolve(try entry.string("private_key_file"))
                secretFiles.append(keyFile)
                let pem = try ConfigReader.readText(path: keyFile)
                guard (try? SocialClientSecret.appleKey(pem)) != nil else {
                    throw ConfigError(key: "\(key).private_key_file", problem: "not a P-256 private key in PEM form")
                }
                secret = .appleJWT(teamID: teamID, keyID: keyID, privateKeyPEM: pem)
            }
            let scopes = try entry.stringList("scopes", default: ["openid", "email", "profile"])
            try entry.rejectUnknown()
            providers.append(SocialProvider(id: id, name: name, issuer: issuer, discoveryURL: discoveryIssuer + "/.well-known/openid-configuration",
                                            clientID: clientID, clientSecret: secret, scopes: scopes, secretFiles: secretFiles))
        }
        providers.sort { $0.id < $1.id }

        let linking: EmailLinking
        let linkingKey = Key.emailLinking
        // Off by default, as allauth's SOCIALACCOUNT_EMAIL_AUTHENTICATION: turned on, it trusts the
        // provider's `email_verified` with the way into every account holding that address.
        let linkingValues = try r.stringList(linkingKey, default: ["false"])
        switch linkingValues.map({ $0.lowercased() }) {
        case ["true"], ["yes"], ["on"]: linking = .all
        case ["false"], ["no"], ["off"], []: linking = .none
        default:
            for id in linkingValues where !providers.contains(where: { $0.id == id }) {
                throw ConfigError(key: linkingKey.name, problem: "\"\(id)\" is not a configured provider")
            }
            linking = .providers(Set(linkingValues))
        }
        let requireVerifiedEmail = try r.bool(Key.requireVerifiedEmail, default: true)
        let autoSignup = try r.bool(Key.autoSignup, default: true)
        let callbackKey = Key.callbackURLs
        let callbacks = try r.stringList(callbackKey, default: [])
        for url in callbacks {
            // Where a provider sends the browser back with a code: an absolute http(s) URL, and
            // without a fragment (RFC 6749 §3.1.2), as the app will send it.
            guard let parts = URLComponents(string: url), ["http", "https"].contains(parts.scheme?.lowercased() ?? ""),
                  !(parts.host ?? "").isEmpty, parts.fragment == nil
            else { throw ConfigError(key: callbackKey.name, problem: "\"\(url)\" is not an absolute http(s) URL without a fragment") }
        }
        return SocialSettings(
            providers: providers,
            emailLinking: linking,
            requireVerifiedEmail: requireVerifiedEmail,
            autoSignup: autoSignup,
            callbackURLs: callbacks,
            httpTimeout: try r.duration(Key.httpTimeout, default: 5, minimum: 0.1)
        )
    }
}
