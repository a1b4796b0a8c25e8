import AllauthStore
import Foundation

/// What kind of second factor a row of `mfa_authenticators` is.
public enum AuthenticatorType: String, Sendable {
    case totp
    case recoveryCodes = "recovery_codes"
}

/// A row of `mfa_authenticators`, as `mfa/authenticators/` lists it (never the secret).
public struct AuthenticatorRecord: Sendable, Equatable {
    public var id: Int64
    public var type: AuthenticatorType
    public var createdAt: Double
    public var lastUsedAt: Double?
}

/// A user's TOTP authenticator: its secret (sealed) and the last time step accepted.
struct TOTPAuthenticator {
    var id: Int64
    var sealedSecret: [UInt8]
    var lastStep: Int64?
}

/// SQL for second factors: authenticators, their recovery codes and pending setup secrets.
/// Every method runs on the caller's connection, inside the caller's transaction if any; the
/// read-modify-writes (accepting a code, spending a recovery code) are called by `MFAVerification`
/// and `MFAEnrolment` inside one `BEGIN IMMEDIATE` transaction.
public struct AuthenticatorStore {
    let db: any SQLConnection

    public init(_ db: any SQLConnection) { self.db = db }

    public func list(userID: Int64) throws -> [AuthenticatorRecord] {
        var rows: [AuthenticatorRecord] = []
        try db.query("SELECT id, type, created_at, last_used_at FROM mfa_authenticators WHERE user_id = ? ORDER BY id", [.integer(userID)]) { row in
            guard let type = AuthenticatorType(rawValue: row.string(1)) else { return }
            rows.append(AuthenticatorRecord(id: row.int(0), type: type, createdAt: row.double(2),
                                            lastUsedAt: row.isNull(3) ? nil : row.double(3)))
        }
        return rows
    }

    public func hasTOTP(userID: Int64) throws -> Bool {
        try db.first("SELECT 1 FROM mfa_authenticators WHERE user_id = ? AND type = 'totp'", [.integer(userID)]) { _ in true } ?? false
    }

    /// The recovery codes the user has not spent; nil when none were ever made.
    public func recoveryCodesLeft(userID: Int64) throws -> Int? {
        guard let id = try db.first("SELECT id FROM mfa_authenticators WHERE user_id = ? AND type = 'recovery_codes'", [.integer(userID)],
                                    { $0.int(0) })
        else { return nil }
        return try db.first("SELECT COUNT(*) FROM mfa_recovery_codes WHERE authenticator_id = ?", [.integer(id)]) { Int($0.int(0)) } ?? 0
    }

    func totp(userID: Int64) throws -> TOTPAuthenticator? {
        try db.first("SELECT id, secret, last_step FROM mfa_authenticators WHERE user_id = ? AND type = 'totp'", [.integer(userID)]) { row in
            TOTPAuthenticator(id: row.int(0), sealedSecret: row.blob(1), lastStep: row.optionalInt(2))
        }
    }

    func addTOTP(userID: Int64, sealedSecret: [UInt8], acceptedStep: Int64, now: Double) throws {
        try db.run("INSERT INTO mfa_authenticators (user_id, type, secret, last_step, created_at) VALUES (?, 'totp', ?, ?, ?)",
                   [.integer(userID), .blob(sealedSecret), .integer(acceptedStep), .real(now)])
    }

    /// Records an accepted code: its step becomes the floor for the next one (the replay guard).
    func markUsed(authenticatorID: Int64, step: Int64?, now: Double) throws {
        if let step {
            try db.run("UPDATE mfa_authenticators SET last_step = ?, last_used_at = ? WHERE id = ?", [.integer(step), .real(now), .integer(authenticatorID)])
        } else {
            try db.run("UPDATE mfa_authenticators SET last_used_at = ? WHERE id = ?", [.real(now), .integer(authenticatorID)])
        }
    }

    /// Replaces the user's recovery codes with `digests` (keyed hashes; the codes themselves are
    /// shown once and never stored).
    func replaceRecoveryCodes(userID: Int64, digests: [String], now: Double) throws {
        try db.run("DELETE FROM mfa_authenticators WHERE user_id = ? AND type = 'recovery_codes'", [.integer(userID)])
        let authenticatorID = try db.insert("INSERT INTO mfa_authenticators (user_id, type, created_at) VALUES (?, 'recovery_codes', ?)",
                                            [.integer(userID), .real(now)])
        for digest in digests {
            try db.run("INSERT INTO mfa_recovery_codes (authenticator_id, code_digest) VALUES (?, ?)", [.integer(authenticatorID), .text(digest)])
        }
    }

    func hasRecoveryCodes(userID: Int64) throws -> Bool {
        try db.first("SELECT 1 FROM mfa_authenticators WHERE user_id = ? AND type = 'recovery_codes'", [.integer(userID)]) { _ in true } ?? false
    }

    /// Spends one recovery code: deletes it and answers whether it was there. The delete is the
    /// single-use guarantee. Looked up by keyed digest through the primary key, so timing can
    /// reveal nothing about any code.
    func spendRecoveryCode(userID: Int64, digest: String, now: Double) throws -> Bool {
        guard let authenticatorID = try db.first(
            "SELECT id FROM mfa_authenticators WHERE user_id = ? AND type = 'recovery_codes'", [.integer(userID)], { $0.int(0) })
        else { return false }
        let spent = try db.run("DELETE FROM mfa_recovery_codes WHERE authenticator_id = ? AND code_digest = ?",
                               [.integer(authenticatorID), .text(digest)])
        if spent > 0 { try markUsed(authenticatorID: authenticatorID, step: nil, now: now) }
        return spent > 0
    }

    /// Deletes every authenticator of the user (and, by cascade, the recovery codes); answers how many.
    @discardableResult
    public func removeAll(userID: Int64) throws -> Int {
        try db.run("DELETE FROM mfa_setup_secrets WHERE user_id = ?", [.integer(userID)])
        return try db.run("DELETE FROM mfa_authenticators WHERE user_id = ?", [.integer(userID)])
    }

    // MARK: pending setup secrets

    /// Stores the user's pending setup secret (sealed), replacing any earlier one.
    func storeSetupSecret(userID: Int64, sealedSecret: [UInt8], expires: Int64) throws {
        try db.run("""
            INSERT INTO mfa_setup_secrets (user_id, secret, expires) VALUES (?, ?, ?)
            ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, expires = excluded.expires
            """,
                   [.integer(userID), .blob(sealedSecret), .integer(expires)])
    }

    func setupSecret(userID: Int64, now: Int64) throws -> [UInt8]? {
        try db.first("SELECT secret FROM mfa_setup_secrets WHERE user_id = ? AND expires > ?", [.integer(userID), .integer(now)]) { $0.blob(0) }
    }

    func deleteSetupSecret(userID: Int64) throws {
        try db.run("DELETE FROM mfa_setup_secrets WHERE user_id = ?", [.integer(userID)])
    }
}
