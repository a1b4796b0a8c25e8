import AllauthCore
import AllauthStore

/// A row of `social_accounts`: a provider identity connected to an account.
package struct SocialAccountRecord: Sendable, Equatable {
    package var id: Int64
    var userID: Int64
    package var provider: String
    package var uid: String
    package var lastLogin: Int64
    package var dateJoined: Int64
}

/// SQL for social connections. All of it is here; methods run in the caller's transaction.
package struct SocialAccounts {
    let db: any SQLConnection

    package init(_ db: any SQLConnection) { self.db = db }

    private static let columns = "id, user_id, provider, uid, last_login, date_joined"

    private static func record(_ row: Row) -> SocialAccountRecord {
        SocialAccountRecord(id: row.int(0), userID: row.int(1), provider: row.string(2), uid: row.string(3),
                            lastLogin: row.int(4), dateJoined: row.int(5))
    }

    /// Inside a write transaction: logins and connects of one provider identity wait for each other
    /// until it ends, so two cannot both find it unconnected (`SQLConnection.serializeWriters`).
    func lockIdentity(provider: String, uid: String) throws {
        try db.serializeWriters(on: "social identity \(provider) \(uid)")
    }

    /// Inside a write transaction: changes to one account's connections wait for each other.
    func lockConnections(userID: Int64) throws {
        try db.serializeWriters(on: "social user \(userID)")
    }

    func find(provider: String, uid: String) throws -> SocialAccountRecord? {
        try db.first("SELECT \(Self.columns) FROM social_accounts WHERE provider = ? AND uid = ?", [.text(provider), .text(uid)], Self.record)
    }

    package func list(userID: Int64) throws -> [SocialAccountRecord] {
        var records: [SocialAccountRecord] = []
        try db.query("SELECT \(Self.columns) FROM social_accounts WHERE user_id = ? ORDER BY id", [.integer(userID)]) { records.append(Self.record($0)) }
        return records
    }

    @discardableResult
    func connect(userID: Int64, provider: String, uid: String, claims: JSON, now: Int64) throws -> SocialAccountRecord {
        try db.run("INSERT INTO social_accounts (user_id, provider, uid, last_login, date_joined, extra_data) VALUES (?,?,?,?,?,?)",
                   [.integer(userID), .text(provider), .text(uid), .integer(now), .integer(now), .text(claims.encodedString())])
        return try find(provider: provider, uid: uid)!
    }

    /// A login through this connection: its time and the provider's latest claims.
    func recordLogin(id: Int64, claims: JSON, now: Int64) throws {
        try db.run("UPDATE social_accounts SET last_login = ?, extra_data = ? WHERE id = ?", [.integer(now), .text(claims.encodedString()), .integer(id)])
    }

    func delete(id: Int64) throws {
        try db.run("DELETE FROM social_accounts WHERE id = ?", [.integer(id)])
    }

    /// Every connection of the account (a reset that takes an unconfirmed account over, a deletion).
    @discardableResult
    func deleteAll(userID: Int64) throws -> Int {
        try db.run("DELETE FROM social_accounts WHERE user_id = ?", [.integer(userID)])
    }

    func find(id: Int64, userID: Int64) throws -> SocialAccountRecord? {
        try db.first("SELECT \(Self.columns) FROM social_accounts WHERE id = ? AND user_id = ?", [.integer(id), .integer(userID)], Self.record)
    }
}
