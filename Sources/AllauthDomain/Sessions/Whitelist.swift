import AllauthStore
import Foundation

/// What the service records about the client that opened or rotated a session
/// (only filled when `accounts.collect_user_agent` is on).
public struct DeviceInfo: Sendable, Equatable {
    public var ip: String?
    public var userAgent: UserAgentInfo?

    package init(ip: String?, userAgent: UserAgentInfo?) {
        self.ip = ip
        self.userAgent = userAgent
    }

    public static let none = DeviceInfo(ip: nil, userAgent: nil)
}

/// One live refresh token.
public struct WhitelistEntry: Sendable, Equatable {
    public var jti: String
    public var session: String
    public var userID: Int64
    public var enabled: Bool
    /// When this token was issued (its `iat`).
    public var created: Int64
    /// Its `exp`.
    public var expires: Int64
    /// When the session was opened (the login); constant across rotations.
    public var sessionIat: Int64
}

/// One device session as the owner sees it in "my devices".
public struct SessionSummary: Sendable, Equatable {
    public var session: String
    public var created: Int64
    public var lastRotated: Int64
    public var ip: String?
    public var device: UserAgentInfo?
}

/// The result of presenting a refresh token for rotation.
public enum RotationOutcome: Sendable, Equatable {
    case rotated(user: UserRecord, successor: WhitelistEntry)
    /// Not on the whitelist: already rotated or revoked. The whole session has been revoked.
    case replayed
    /// Not on the whitelist, and nothing of its session is left (logged out, revoked, a replay
    /// already caught): nothing to revoke, and not reported as a new replay.
    case sessionClosed
    /// On the whitelist but disabled (sign-up awaiting confirmation). Nothing revoked.
    case disabled(emailVerified: Bool)
    /// Past the absolute session lifetime; the session has been revoked.
    case sessionExpired
    /// The account is inactive; all its sessions have been revoked.
    case inactive
}

/// The refresh-token whitelist: issuing, rotation with reuse detection, and revocation.
/// All of its SQL is here.
public struct Whitelist {
    let db: any SQLConnection

    public init(_ db: any SQLConnection) { self.db = db }

    private static let entryColumns = "jti, session, user_id, enabled, created, expires, session_iat"

    private static func entry(_ row: Row) -> WhitelistEntry {
        WhitelistEntry(jti: row.string(0), session: row.string(1), userID: row.int(2), enabled: row.bool(3),
                       created: row.int(4), expires: row.int(5), sessionIat: row.int(6))
    }

    /// The device columns every mint and rotation writes, in `deviceValues` order.
    private static let deviceColumns = [
        "ip", "browser", "browser_version", "os", "os_version", "device", "device_brand", "device_model",
        "is_mobile", "is_tablet", "is_pc", "is_bot",
    ]

    private static func deviceValues(_ device: DeviceInfo) -> [SQLValue] {
        let ua = device.userAgent
        return [SQLValue(device.ip), SQLValue(ua?.browser), SQLValue(ua?.browserVersion), SQLValue(ua?.os), SQLValue(ua?.osVersion),
                SQLValue(ua?.device), SQLValue(ua?.deviceBrand), SQLValue(ua?.deviceModel), SQLValue(ua?.isMobile),
                SQLValue(ua?.isTablet), SQLValue(ua?.isPC), SQLValue(ua?.isBot)]
    }

    private static let insertSQL = """
        INSERT INTO refresh_tokens (jti, session, user_id, enabled, created, expires, session_iat, \(deviceColumns.joined(separator: ", ")))
        VALUES (\(Array(repeating: "?", count: 7 + deviceColumns.count).joined(separator: ",")))
        """

    private static let replaceSQL = """
        UPDATE refresh_tokens SET jti = ?, predecessor_jti = jti, enabled = 1, created = ?, expires = ?,
            \(deviceColumns.map { "\($0) = ?" }.joined(separator: ", "))
        WHERE jti = ?
        """

    /// Records the first refresh token of a new session.
    public func insert(_ entry: WhitelistEntry, device: DeviceInfo) throws {
        try db.run(Self.insertSQL,
                   [.text(entry.jti), .text(entry.session), .integer(entry.userID), SQLValue(entry.enabled), .integer(entry.created),
                    .integer(entry.expires), .integer(entry.sessionIat)] + Self.deviceValues(device))
    }

    public func find(jti: String) throws -> WhitelistEntry? {
        try db.first("SELECT \(Self.entryColumns) FROM refresh_tokens WHERE jti = ?", [.text(jti)], Self.entry)
    }

    /// `find`, and on PostgreSQL the row stays locked until the transaction ends. A second rotation
    /// of the same token waits here, then (READ COMMITTED re-reads the row) finds it replaced and
    /// takes the replay or grace path, as it does behind SQLite's write lock; a logout-all racing
    /// the rotation deletes the successor after it, or the rotation finds nothing: never a live row.
    private func findLocked(jti: String) throws -> WhitelistEntry? {
        try db.first("SELECT \(Self.entryColumns) FROM refresh_tokens WHERE jti = ?\(db.dialect.lockRows)", [.text(jti)], Self.entry)
    }

    /// The rotation: find the presented token's row; none is a replay (the whole session is revoked),
    /// past the session's deadline it ends, an inactive account loses every session; otherwise the
    /// row is replaced by its successor. One write transaction: on SQLite it holds the database's
    /// write lock from the first read, on PostgreSQL the row's lock (`findLocked`), so two workers
    /// (or hosts) presenting the same token serialise here and exactly one finds its row. Rejections
    /// that revoke (replay, expiry, inactive account) commit their deletions, because they return
    /// rather than throw.
    public func rotate(
        presented: TokenClaims,
        now: Int64,
        refreshLifetime: Int64,
        sessionLifetime: Int64?,
        grace: Int64,
        newJTI: String,
        device: DeviceInfo
    ) throws -> RotationOutcome {
        let users = UserStore(db)
        return try db.transaction(.write) { () throws -> RotationOutcome in
            guard let row = try findLocked(jti: presented.jti), row.session == presented.session, String(row.userID) == presented.userID else {
                // (session, predecessor): the session index narrows it to that session's one row.
                if grace > 0, let successor = try db.first(
                    "SELECT \(Self.entryColumns) FROM refresh_tokens WHERE session = ? AND predecessor_jti = ? AND created >= ?",
                    [.text(presented.session), .text(presented.jti), .integer(now - grace)], Self.entry),
                   let user = try users.find(id: successor.userID), user.isActive {
                    // The immediate predecessor, within the grace window (a retried request, two
                    // tabs): hand back the successor already issued instead of killing the session.
                    return .rotated(user: user, successor: successor)
                }
                // Checked first: a dead token presented again is no new replay, and needs no
                // durable commit (see `revoke`).
                guard try isLive(session: presented.session) else { return .sessionClosed }
                try revoke(session: presented.session)
                return .replayed
            }
            guard let user = try users.find(id: row.userID) else {
                try revoke(session: row.session)
                return .replayed
            }
            guard row.enabled else { return .disabled(emailVerified: user.emailVerified) }
            var deadline: Int64?
            if let sessionLifetime {
                deadline = row.sessionIat + sessionLifetime
                if now >= deadline! {
                    try revoke(session: row.session)
                    return .sessionExpired
                }
            }
            guard user.isActive else {
                try revoke(userID: user.id)
                return .inactive
            }
            let successor = WhitelistEntry(
                jti: newJTI, session: row.session, userID: user.id, enabled: true, created: now,
                expires: min(now + refreshLifetime, deadline ?? Int64.max), sessionIat: row.sessionIat)
            // The successor takes the row's place: one row per session, updated in place, which
            // touches fewer pages than a delete and an insert (only the jti index changes).
            guard try replace(row.jti, with: successor, device: device) else {
                try revoke(session: row.session)
                return .replayed
            }
            return .rotated(user: user, successor: successor)
        }
    }

    /// Replaces the token `jti` by `successor` in the same row; false if `jti` is no longer there.
    private func replace(_ jti: String, with successor: WhitelistEntry, device: DeviceInfo) throws -> Bool {
        try db.run(Self.replaceSQL,
                   [.text(successor.jti), .integer(successor.created), .integer(successor.expires)]
                       + Self.deviceValues(device) + [.text(jti)]) == 1
    }

    // Every revocation commits with `.full` durability, in its own transaction or joined to the
    // caller's: a revocation lost to a power cut would silently give the access back. A rotation
    // that revokes (replay, expiry, inactive account) is thereby re-run as a `.full` transaction;
    // plain rotations stay `.normal` (a lost one only logs a device out).

    /// Deletes every token of one device session.
    @discardableResult
    public func revoke(session: String) throws -> Int {
        try db.transaction(.accessChange) {
            try db.run("DELETE FROM refresh_tokens WHERE session = ?", [.text(session)])
        }
    }

    /// Deletes one session only if it belongs to `userID`; answers whether anything was deleted.
    @discardableResult
    public func revoke(session: String, ofUser userID: Int64) throws -> Bool {
        try db.transaction(.accessChange) {
            try db.run("DELETE FROM refresh_tokens WHERE session = ? AND user_id = ?", [.text(session), .integer(userID)]) > 0
        }
    }

    /// Deletes every session of a user.
    @discardableResult
    public func revoke(userID: Int64) throws -> Int {
        try db.transaction(.accessChange) {
            try db.run("DELETE FROM refresh_tokens WHERE user_id = ?", [.integer(userID)])
        }
    }

    /// Enables the user's disabled sessions (sign-ups awaiting confirmation) once the address is confirmed.
    @discardableResult
    public func enable(userID: Int64) throws -> Int {
        try db.run("UPDATE refresh_tokens SET enabled = 1 WHERE user_id = ? AND enabled = 0", [.integer(userID)])
    }

    /// Whether a session still has a row (enabled or not): the stateful access-token check.
    public func isLive(session: String) throws -> Bool {
        try db.first("SELECT 1 FROM refresh_tokens WHERE session = ? LIMIT 1", [.text(session)]) { _ in true } ?? false
    }

    /// The user's sessions, newest activity first; one entry per session. `liveAt`: only those
    /// whose refresh token has not expired by then (a session nobody can refresh any more is over).
    public func sessions(userID: Int64, liveAt now: Int64? = nil) throws -> [SessionSummary] {
        var result: [SessionSummary] = []
        var seen: Set<String> = []
        try db.query("""
            SELECT session, session_iat, created, ip, browser, browser_version, os, os_version, device, device_brand, device_model,
                   is_mobile, is_tablet, is_pc, is_bot
            FROM refresh_tokens WHERE user_id = ?\(now == nil ? "" : " AND expires > ?") ORDER BY created DESC, id DESC
            """, [.integer(userID)] + (now.map { [.integer($0)] } ?? [])) { row in
            let session = row.string(0)
            guard seen.insert(session).inserted else { return }
            var device: UserAgentInfo?
            if !row.isNull(4) {
                device = UserAgentInfo(browser: row.string(4), browserVersion: row.string(5), os: row.string(6), osVersion: row.string(7),
                                       device: row.string(8), deviceBrand: row.optionalString(9), deviceModel: row.optionalString(10),
                                       isMobile: row.bool(11), isTablet: row.bool(12), isPC: row.bool(13), isBot: row.bool(14))
            }
            result.append(SessionSummary(session: session, created: row.int(1), lastRotated: row.int(2), ip: row.optionalString(3), device: device))
        }
        return result
    }
}
