import AllauthCore
import AllauthRuntime
import AllauthStore
import Foundation

/// A row of the users table.
public struct UserRecord: Sendable, Equatable {
    public var id: Int64
    public var email: String
    public var password: String
    public var firstName: String
    public var lastName: String
    public var role: Int
    public var isActive: Bool
    public var emailVerified: Bool
    public var dateJoined: Int64
    public var lastLogin: Int64?

    /// Invited and social-only accounts have no password to log in with (Django's "!" marker).
    public var hasUsablePassword: Bool { !password.hasPrefix(PasswordHasher.unusablePrefix) }

    /// Columns a custom claim (`tokens.user_attributes`) may copy.
    public static let customAttributeColumns: Set<String> = ["email", "first_name", "last_name", "date_joined", "last_login", "is_active"]

    /// The value of a custom-attribute column as a claim; nil (skipped) when the column is null.
    func claimValue(column: String) -> JSON? {
        switch column {
        case "email": return .string(email)
        case "first_name": return .string(firstName)
        case "last_name": return .string(lastName)
        case "date_joined": return .number(Double(dateJoined))
        case "last_login": return lastLogin.map { .number(Double($0)) }
        case "is_active": return .bool(isActive)
        default: return nil
        }
    }
}

/// SQL for users. Every method runs on the caller's connection, inside the caller's transaction if any.
public struct UserStore {
    let db: any SQLConnection

    public init(_ db: any SQLConnection) { self.db = db }

    private static let columns = "id, email, password, first_name, last_name, role, is_active, email_verified, date_joined, last_login"

    private static func record(_ row: Row) -> UserRecord {
        UserRecord(id: row.int(0), email: row.string(1), password: row.string(2), firstName: row.string(3),
                   lastName: row.string(4), role: Int(row.int(5)), isActive: row.bool(6), emailVerified: row.bool(7),
                   dateJoined: row.int(8), lastLogin: row.optionalInt(9))
    }

    /// Addresses compare case-insensitively and without surrounding spaces.
    public static func normalise(_ email: String) -> String {
        email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    public func find(email: String) throws -> UserRecord? {
        try db.first("SELECT \(Self.columns) FROM users WHERE email_lower = ?", [.text(Self.normalise(email))], Self.record)
    }

    public func find(id: Int64) throws -> UserRecord? {
        try db.first("SELECT \(Self.columns) FROM users WHERE id = ?", [.integer(id)], Self.record)
    }

    /// Every account, oldest first, narrowed to one role and to active or inactive accounts when asked.
    public func list(role: Int? = nil, active: Bool? = nil) throws -> [UserRecord] {
        var conditions: [String] = []
        var bindings: [SQLValue] = []
        if let role {
            conditions.append("role = ?")
            bindings.append(SQLValue(role))
        }
        if let active {
            conditions.append("is_active = ?")
            bindings.append(SQLValue(active))
        }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        var records: [UserRecord] = []
        try db.query("SELECT \(Self.columns) FROM users\(filter) ORDER BY id", bindings) { records.append(Self.record($0)) }
        return records
    }

    /// How many active accounts hold one of `roles`.
    public func countActive(roles: [Int]) throws -> Int {
        guard !roles.isEmpty else { return 0 }
        let placeholders = Array(repeating: "?", count: roles.count).joined(separator: ", ")
        return try db.first("SELECT COUNT(*) FROM users WHERE is_active = 1 AND role IN (\(placeholders))", roles.map { SQLValue($0) }) {
            Int($0.int(0))
        } ?? 0
    }

    /// `find(id:)` inside a write transaction, the row then locked until it ends on PostgreSQL (SQLite's
    /// write lock already covers it): a deactivation or credential change racing this transaction
    /// lands wholly before it (and is seen here) or wholly after it (and revokes what it made).
    public func findLocked(id: Int64) throws -> UserRecord? {
        try db.first("SELECT \(Self.columns) FROM users WHERE id = ?\(db.dialect.lockRows)", [.integer(id)], Self.record)
    }

    public enum CreateError: Error, Equatable { case emailTaken }

    @discardableResult
    public func create(email: String, passwordHash: String, firstName: String = "", lastName: String = "", role: Int = Role.user,
                       isActive: Bool = true, emailVerified: Bool, dateJoined: Int64 = Int64(Date().timeIntervalSince1970),
                       lastLogin: Int64? = nil) throws -> UserRecord {
        // ON CONFLICT rather than catching the violation: on PostgreSQL a failed statement would abort
        // the caller's whole transaction.
        guard let id = try db.first("""
            INSERT INTO users (email, email_lower, password, first_name, last_name, role, is_active, email_verified, date_joined, last_login)
            VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (email_lower) DO NOTHING RETURNING id
            """, [.text(email.trimmingCharacters(in: .whitespacesAndNewlines)), .text(Self.normalise(email)), .text(passwordHash),
                 .text(firstName), .text(lastName), SQLValue(role), SQLValue(isActive), SQLValue(emailVerified),
                 .integer(dateJoined), SQLValue(lastLogin)], { $0.int(0) })
        else { throw CreateError.emailTaken }
        return try find(id: id)!
    }

    /// Inside a write transaction: sign-ups, invitations and social sign-ins of one address wait for
    /// each other here until it ends, so two cannot both find it free (`SQLConnection.serializeWriters`).
    public func lockAddress(_ email: String) throws {
        try db.serializeWriters(on: "address " + Self.normalise(email))
    }

    public func setPasswordHash(userID: Int64, _ hash: String) throws {
        try db.run("UPDATE users SET password = ? WHERE id = ?", [.text(hash), .integer(userID)])
    }

    public func recordLogin(userID: Int64, at time: Int64) throws {
        try db.run("UPDATE users SET last_login = ? WHERE id = ?", [.integer(time), .integer(userID)])
    }

    public func updateNames(userID: Int64, firstName: String, lastName: String) throws {
        try db.run("UPDATE users SET first_name = ?, last_name = ? WHERE id = ?", [.text(firstName), .text(lastName), .integer(userID)])
    }

    public func setActive(userID: Int64, _ active: Bool) throws {
        try db.run("UPDATE users SET is_active = ? WHERE id = ?", [SQLValue(active), .integer(userID)])
    }

    public func setRole(userID: Int64, _ role: Int) throws {
        try db.run("UPDATE users SET role = ? WHERE id = ?", [SQLValue(role), .integer(userID)])
    }

    /// The address is proven (a confirmation or invitation link was followed, or an operator said so).
    public func markVerified(userID: Int64) throws {
        try db.run("UPDATE users SET email_verified = 1 WHERE id = ?", [.integer(userID)])
    }

    /// Deletes an account and, by cascade, its sessions and one-time tokens (an abandoned sign-up or
    /// a superseded invitation whose address is being taken again).
    public func delete(userID: Int64) throws {
        try db.run("DELETE FROM users WHERE id = ?", [.integer(userID)])
    }
}
