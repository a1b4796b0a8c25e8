import Foundation

/// The nginx side of `verify.cache`: a micro-cache in front of verify/ for auth_request, so that
/// nginx answers a token it saw verified less than `verify.cache` ago without a round trip to a
/// worker. `init` writes it into the site, `dev` into its nginx.conf; with the cache off both
/// placeholders render empty and the config is what it always was.
public struct NginxVerifyCache: Sendable {
    /// Where `init`'s site keeps the entries: tmpfs, because each entry's key is a live access
    /// token, which should not reach a disk. nginx creates the directory at start.
    public static let sitePath = "/run/nginx-jwt-allauth-verify"

    let settings: Config.Verify
    let path: String

    public init(_ settings: Config.Verify, path: String) {
        self.settings = settings
        self.path = path
    }

    /// http context: the cache zone, and `$jwt_allauth_no_token` (1 without an Authorization header).
    public var zone: String {
        guard settings.cache > 0 else { return "" }
        return """
            # verify.cache (docs/deploying.md, "Caching verify/"): nginx's copy of recent verify/ answers. The entries
            # are small and short-lived; `inactive` drops those no token has asked for since.
            fastcgi_cache_path \(path) levels=1:2 keys_zone=jwt_allauth_verify:10m max_size=64m inactive=\(seconds * 2)s use_temp_path=off;
            map $http_authorization $jwt_allauth_no_token {
                ""      1;
                default 0;
            }
            """
    }

    /// The auth_request location's cache lines (auth-request.conf), or nothing.
    public var location: String {
        guard settings.cache > 0 else { return "" }
        return """
                # verify.cache: a token verified less than \(seconds) s ago passes without asking a worker
                # (docs/deploying.md, "Caching verify/": a revoked session's token passes for up to that long).
                fastcgi_cache jwt_allauth_verify;
                fastcgi_cache_key $http_authorization;             # the presented token: nothing else decides verify/'s 200
                fastcgi_cache_valid 200 \(seconds)s;                  # only 200s; a 401 is never reused
                fastcgi_ignore_headers Cache-Control Expires;      # verify/'s X-Accel-Expires: the time above, or less
                                                                   # when the token expires sooner
                fastcgi_no_cache $jwt_allauth_no_token;            # no token: nothing to key on
                fastcgi_cache_bypass $jwt_allauth_no_token;
                # An entry's file stays open between hits instead of an open and a close for each
                # (nginx's cache finds its files through this location's open_file_cache). Safe: an
                # entry's file carries its own expiry, so a kept descriptor of a replaced file reads
                # as expired and goes to a worker; `valid` bounds how long that can go on.
                open_file_cache max=10000 inactive=\(seconds * 2)s;
                open_file_cache_valid 1s;
            """
    }

    /// nginx keeps cache times in whole seconds (`5s`; it refuses `ms` here).
    private var seconds: Int { Int(settings.cache) }
}
