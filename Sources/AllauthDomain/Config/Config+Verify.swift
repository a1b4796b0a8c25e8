import AllauthCore
import Foundation

extension Config {
    /// nginx's micro-cache of verify/ answers for auth_request (`verify.*`, docs/deploying.md, "Caching verify/").
    public struct Verify: Sendable {
        /// How long nginx reuses a 200 of verify/ for the same token; 0 = no cache (the default).
        public var cache: TimeInterval = 0
        /// The operator's consent that, with `tokens.access_token_session_check` on, a revoked
        /// session's access token still passes auth_request for up to `cache`.
        public var cacheAcceptsRevocationLag = false

        public static let off = Verify()

        enum Key {
            static let cache = SettingKey("verify.cache", default: "`0s`", """
                nginx reuses verify/'s 200 for the same token this long in auth_request (see [Caching \
                verify/](deploying.md#caching-verify-verifycache)); `0s`: off
                """)
            static let cacheAcceptsRevocationLag = SettingKey("verify.cache_accepts_revocation_lag", default: "`false`",
                                                              "required for `verify.cache` with `tokens.access_token_session_check` on")
        }

        /// The verify/ micro-cache. Refused with the session check on unless the operator accepts the
        /// lag by name: the check exists so that a revoked session stops passing at once, and a cache
        /// in front of it silently undoes that for the cache time.
        static func parse(_ r: inout ConfigReader, sessionCheck: Bool) throws(ConfigError) -> Verify {
            var verify = Verify()
            verify.cache = try r.duration(Key.cache, default: 0)
            verify.cacheAcceptsRevocationLag = try r.bool(Key.cacheAcceptsRevocationLag, default: false)
            guard verify.cache <= 60, verify.cache.rounded() == verify.cache else {
                // nginx counts cache times in whole seconds.
                throw ConfigError(key: Key.cache.name, problem: "must be whole seconds, at most 60s (a few seconds is the intent)")
            }
            if verify.cache > 0, sessionCheck, !verify.cacheAcceptsRevocationLag {
                throw ConfigError(key: Key.cache.name, problem: """
                    with tokens.access_token_session_check on, a revoked session's access token would still pass \
                    auth_request for up to verify.cache; set verify.cache_accepts_revocation_lag: true to accept that, \
                    or verify.cache: 0s
                    """)
            }
            return verify
        }
    }
}
