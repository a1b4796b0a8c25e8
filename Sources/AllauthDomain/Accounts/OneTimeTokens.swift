import AllauthCore
import AllauthStore
import Crypto
import Foundation

/// What a one-time token lets its holder do. The raw values are stored in `one_time_tokens.purpose`.
public enum TokenPurpose: String, Sendable, CaseIterable {
    /// The key in a sign-up confirmation link.
    case emailConfirmation = "email_confirmation"
    /// The key in an invitation link (usable until the invitee has set a password).
    case invitation
    /// The token in a password-reset link.
    case passwordReset = "password_reset"
    /// The capability a reset link hands over in the `password_reset_access_token` cookie.
    case passwordResetAccess = "password_reset_access"
    /// The capability an invitation link hands over in the `set_password_access_token` cookie.
    case passwordSetAccess = "password_set_access"
}

/// Single-use secrets: links in mails and the capabilities in cookies. Only a SHA-256 digest is
/// stored, so a copy of the database opens nothing. All of `one_time_tokens`' SQL is here.
///
/// Lookups go by digest through an index: timing can reveal at most a prefix of a digest, which
/// says nothing about any token, so no constant-time comparison is needed on this path.
public struct OneTimeTokens {
    let db: any SQLConnection

    public init(_ db: any SQLConnection) { self.db = db }

    /// 256 random bits, base64url: fits in a URL path segment and a cookie value unescaped.
    public static func newSecret() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Base64URL.encode(Array($0)) }
    }

    static func digest(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Stores a fresh token for `userID` and answers it; with `replacing`, the user's other tokens of
    /// that purpose are deleted first (only the latest link or capability works).
    /// Runs in the caller's transaction.
    public func issue(_ purpose: TokenPurpose, userID: Int64, now: Int64, lifetime: TimeInterval, replacing: Bool = true) throws -> String {
        if replacing { try revoke(purpose, userID: userID) }
        let token = Self.newSecret()
        try db.run("INSERT INTO one_time_tokens (user_id, purpose, token_hash, created, expires) VALUES (?, ?, ?, ?, ?)",
                   [.integer(userID), .text(purpose.rawValue), .text(Self.digest(token)), .integer(now), .integer(now + Int64(lifetime))])
        return token
    }

    /// The user a live token of one of `purposes` belongs to, and which purpose it has; nothing is spent.
    public func find(_ token: String, purposes: [TokenPurpose], now: Int64) throws -> (userID: Int64, purpose: TokenPurpose)? {
        guard !token.isEmpty, token.utf8.count <= 128 else { return nil }
        let placeholders = Array(repeating: "?", count: purposes.count).joined(separator: ",")
        return try db.first(
            "SELECT user_id, purpose FROM one_time_tokens WHERE token_hash = ? AND purpose IN (\(placeholders)) AND expires > ? LIMIT 1",
            [.text(Self.digest(token))] + purposes.map { .text($0.rawValue) } + [.integer(now)]
        ) { row in (row.int(0), TokenPurpose(rawValue: row.string(1)) ?? purposes[0]) }
    }

    /// Spends a live token: deletes it and answers its user, or nil when it was not there (already
    /// used, superseded, expired or never issued). The delete is the single-use guarantee: of two
    /// requests spending the same token, exactly one deletes the row.
    public func consume(_ token: String, _ purpose: TokenPurpose, now: Int64) throws -> Int64? {
        guard !token.isEmpty, token.utf8.count <= 128 else { return nil }
        // SQLite applies the whole DELETE at the first step, so RETURNING sees every deleted row.
        return try db.first("DELETE FROM one_time_tokens WHERE token_hash = ? AND purpose = ? AND expires > ? RETURNING user_id",
                            [.text(Self.digest(token)), .text(purpose.rawValue), .integer(now)]) { $0.int(0) }
    }

    /// Deletes the user's tokens of one purpose.
    @discardableResult
    public func revoke(_ purpose: TokenPurpose, userID: Int64) throws -> Int {
        try db.run("DELETE FROM one_time_tokens WHERE user_id = ? AND purpose = ?", [.integer(userID), .text(purpose.rawValue)])
    }

    /// Deletes every one-time token of the user (credential revocation, deactivation).
    @discardableResult
    public func revokeAll(userID: Int64) throws -> Int {
        try db.run("DELETE FROM one_time_tokens WHERE user_id = ?", [.integer(userID)])
    }

    /// The purposes of the user's live tokens (links and capabilities not yet used or expired).
    public func livePurposes(userID: Int64, now: Int64) throws -> [TokenPurpose] {
        var purposes: [TokenPurpose] = []
        try db.query("SELECT DISTINCT purpose FROM one_time_tokens WHERE user_id = ? AND expires > ? ORDER BY purpose",
                     [.integer(userID), .integer(now)]) { row in TokenPurpose(rawValue: row.string(0)).map { purposes.append($0) } }
        return purposes
    }

    /// Whether the user holds a live token of `purpose` (a pending invitation reserves its address).
    public func hasLive(_ purpose: TokenPurpose, userID: Int64, now: Int64) throws -> Bool {
        try db.first("SELECT 1 FROM one_time_tokens WHERE user_id = ? AND purpose = ? AND expires > ? LIMIT 1",
                     [.integer(userID), .text(purpose.rawValue), .integer(now)]) { _ in true } ?? false
    }
}
