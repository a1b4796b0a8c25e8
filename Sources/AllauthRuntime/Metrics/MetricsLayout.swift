/// The pool-wide counters that are not per route. Raw values are their index in a counter file:
/// append new cases at the end, so a file written by an older build still reads right.
public enum PoolCounter: Int, CaseIterable, Sendable {
    case rotations
    case replaysDetected
    case sessionsRevoked
    case failedLogins
    case throttledRequests
    case workerRestarts
    case mailDeliveryFailures

    /// The Prometheus name and help text.
    var exposition: (name: String, help: String) {
        switch self {
        case .rotations: ("jwt_allauth_rotations_total", "Refresh tokens rotated.")
        case .replaysDetected: ("jwt_allauth_replays_detected_total", "Rotated refresh tokens presented again (the session is revoked).")
        case .sessionsRevoked: ("jwt_allauth_sessions_revoked_total", "Sessions closed by logout, revocation or replay detection.")
        case .failedLogins: ("jwt_allauth_failed_logins_total", "Logins refused for wrong credentials.")
        case .throttledRequests: ("jwt_allauth_throttled_requests_total", "Requests refused by the service's own rate limits (429).")
        case .workerRestarts: ("jwt_allauth_worker_restarts_total", "Workers that died and were respawned by the master.")
        case .mailDeliveryFailures: ("jwt_allauth_mail_delivery_failures_total", "Mail deliveries that failed (each retry counts).")
        }
    }
}

/// Where each figure lives in one counter file (`CounterFile`): a header naming the routes, the
/// `PoolCounter`s, then one block per route. The route labels are in the file, so a reader sums
/// files written with different route tables (a reload that enabled sign-up) by label.
struct MetricsLayout: Equatable, Sendable {
    /// Statuses counted one by one; anything else counts as `other`.
    static let statuses = [200, 201, 204, 301, 302, 400, 401, 403, 404, 405, 409, 410, 413, 415, 429, 500, 503]
    /// Upper bounds (seconds) of the latency histogram; one more bucket holds the rest (+Inf).
    static let latencyBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
    /// Bytes kept per route label; longer labels are cut (ours are a few path segments).
    static let labelBytes = 64
    /// Marks a complete counter file (written in the host's byte order: files never leave the machine).
    static let magic: UInt64 = 0x3130_5445_4d54_574a

    let routes: [String]

    /// Words (UInt64) per route block: statuses + other, buckets + Inf, the duration sum in
    /// microseconds, the request count.
    static let routeWords = statuses.count + 1 + latencyBounds.count + 1 + 2

    var headerWords: Int { 2 + routes.count * Self.labelBytes / 8 }
    var counterBase: Int { headerWords }
    var routeBase: Int { headerWords + PoolCounter.allCases.count }
    var totalWords: Int { routeBase + routes.count * Self.routeWords }

    func statusWord(route: Int, status: Int) -> Int {
        routeBase + route * Self.routeWords + (Self.statuses.firstIndex(of: status) ?? Self.statuses.count)
    }

    func bucketWord(route: Int, seconds: Double) -> Int {
        let bucket = Self.latencyBounds.firstIndex { seconds <= $0 } ?? Self.latencyBounds.count
        return routeBase + route * Self.routeWords + Self.statuses.count + 1 + bucket
    }

    func sumWord(route: Int) -> Int { routeBase + route * Self.routeWords + Self.routeWords - 2 }
    func countWord(route: Int) -> Int { routeBase + route * Self.routeWords + Self.routeWords - 1 }

    /// A short stable name for this route table (FNV-1a; Swift's `Hasher` is seeded per process).
    var signature: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in routes.joined(separator: "\n").utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
