import AllauthCore
import Foundation

/// How access tokens are signed.
public enum TokenAlgorithm: String, Sendable, CaseIterable {
    case rs256 = "RS256", es256 = "ES256", edDSA = "EdDSA", hs256 = "HS256"
}

/// The `tokens` section: signing keys, lifetimes and custom claims.
public struct TokenSettings: Sendable {
    public var algorithm: TokenAlgorithm
    /// PEM private key (RS256/ES256/EdDSA) or secret file (HS256) that signs access tokens.
    public var signingKey: String
    /// Public keys (PEM) that still verify tokens after a key rotation.
    public var verificationKeys: [String]
    /// How long past the access lifetime a key `rotate-key` retired still verifies (`RetiredKeys`).
    public var retiredKeyLeeway: TimeInterval
    /// Server-only HMAC secret that signs refresh tokens (they are only ever verified here).
    public var refreshSecret: String
    public var accessLifetime: TimeInterval
    public var refreshLifetime: TimeInterval
    public var sessionLifetime: TimeInterval?
    public var rotationGrace: TimeInterval
    public var accessTokenSessionCheck: Bool
    /// Custom claims: claim name → user column (docs/configuration.md).
    public var userAttributes: [(claim: String, column: String)]

    /// A client whose refresh answer was lost (a dropped connection, a killed worker, a phone in
    /// a tunnel) retries with the token it holds: within this window that retry gets the same
    /// successor instead of being taken for a thief. 0 is the reference's strict behaviour.
    public static let defaultRotationGrace: TimeInterval = 10

    enum Key {
        static let algorithm = SettingKey("tokens.algorithm", default: "`RS256`", "access-token signature: `RS256`, `ES256`, `EdDSA`, `HS256`")
        static let signingKey = SettingKey("tokens.signing_key", default: "`keys/private.pem`", "private key PEM (HS256: base64 secret file)")
        static let verificationKeys = SettingKey("tokens.verification_keys", default: "`[]`", "public keys kept by hand, accepted without a deadline (`rotate-key` keeps its own in `retired/`)")
        static let retiredKeyLeeway = SettingKey("tokens.retired_key_leeway", default: "`5m`", """
            a key `rotate-key` retired verifies tokens for `access_lifetime` plus this after its retirement, \
            then nothing: time to reload after the rotation ([deploying.md](deploying.md#rotating-the-signing-key))
            """)
        static let refreshSecret = SettingKey("tokens.refresh_secret", default: "`keys/refresh.key`", "server-only HMAC secret for refresh tokens")
        static let accessLifetime = SettingKey("tokens.access_lifetime", default: "`30m`", "access token lifetime")
        static let refreshLifetime = SettingKey("tokens.refresh_lifetime", default: "`14d`", "refresh token lifetime (sliding: renewed at each rotation)")
        static let sessionLifetime = SettingKey("tokens.session_lifetime", default: "`null`", "absolute cap on a login; tokens never expire beyond it")
        static let rotationGrace = SettingKey("tokens.rotation_grace", default: "`10s`", """
            a replay of the immediate predecessor within this window gets the same successor (see \
            [below](#the-rotation-grace-a-trade-off)); `0s`: the reference's strict behaviour
            """)
        static let accessTokenSessionCheck = SettingKey("tokens.access_token_session_check", default: "`false`",
                                                        "authenticated endpoints and `verify/` also require the session to be live")
        static let userAttributes = SettingKey("tokens.user_attributes", default: "`{}`", """
            extra claims `{claim: column}` from `email`, `first_name`, `last_name`, `date_joined`, `last_login`, \
            `is_active`; re-read at every rotation
            """)
    }

    /// `userColumns`: the user columns a custom claim may copy (the account's row is not this folder's).
    package static func parse(_ r: inout ConfigReader, userColumns: Set<String>) throws(ConfigError) -> TokenSettings {
        let algorithm = try r.choice(Key.algorithm, default: TokenAlgorithm.rs256,
                                     Dictionary(uniqueKeysWithValues: TokenAlgorithm.allCases.map { ($0.rawValue.lowercased(), $0) }))
        let signingKey = try r.path(Key.signingKey, default: "keys/private.pem")
        let verificationKeys = try r.stringList(Key.verificationKeys, default: []).map(r.resolve)
        let retiredKeyLeeway = try r.duration(Key.retiredKeyLeeway, default: 5 * 60)
        let refreshSecret = try r.path(Key.refreshSecret, default: "keys/refresh.key")
        let accessLifetime = try r.duration(Key.accessLifetime, default: 30 * 60, minimum: 1)
        let refreshLifetime = try r.duration(Key.refreshLifetime, default: 14 * 86400, minimum: 1)
        let sessionLifetime = try r.optionalDuration(Key.sessionLifetime)
        let rotationGrace = try r.duration(Key.rotationGrace, default: defaultRotationGrace)
        let sessionCheck = try r.bool(Key.accessTokenSessionCheck, default: false)
        var attributes: [(claim: String, column: String)] = []
        for (claim, column) in try r.stringMap(Key.userAttributes) {
            if TokenClaims.reservedNames.contains(claim) || attributes.contains(where: { $0.claim == claim }) {
                throw ConfigError(key: Key.userAttributes.name, problem: "claim name \"\(claim)\" is reserved or repeated")
            }
            guard userColumns.contains(column) else {
                throw ConfigError(key: Key.userAttributes.name,
                                  problem: "\"\(column)\" is not a user column (one of \(userColumns.sorted().joined(separator: ", ")))")
            }
            attributes.append((claim, column))
        }
        guard rotationGrace <= 60 else {
            throw ConfigError(key: Key.rotationGrace.name, problem: "must be at most 60s (a few seconds is the intent)")
        }
        return TokenSettings(algorithm: algorithm, signingKey: signingKey, verificationKeys: verificationKeys,
                             retiredKeyLeeway: retiredKeyLeeway, refreshSecret: refreshSecret,
                             accessLifetime: accessLifetime, refreshLifetime: refreshLifetime, sessionLifetime: sessionLifetime,
                             rotationGrace: rotationGrace, accessTokenSessionCheck: sessionCheck, userAttributes: attributes)
    }
}
