import AllauthRuntime
import AllauthStore
import Foundation

/// Copies users (e-mail, password hash, names, flags, dates, verification) from a Django SQLite
/// database — the reference's or plain `auth_user` — so people keep their passwords when moving.
/// Hashes of every hasher `DjangoPasswordHashes` checks are kept as they are (login replaces them
/// with the configured one); an account whose hash cannot be checked is imported without a usable
/// password (a password reset gives it one), and its row is reported.
public struct DjangoImport {
    public struct Report: Equatable {
        public var imported = 0
        public var skippedExisting = 0
        public var skippedWithoutEmail = 0
        /// Imported without a usable password, with the reason: a hasher this service does not
        /// check, a malformed hash, or parameters beyond the caps.
        public var withoutUsablePassword: [UncheckedRow] = []
    }

    /// A source row whose password hash cannot be checked.
    public struct UncheckedRow: Equatable, CustomStringConvertible {
        public var id: Int64
        public var email: String
        package var reason: UncheckableHash

        public var description: String { "user \(id) <\(email)>: \(reason)" }
    }

    public enum ImportError: Error, CustomStringConvertible {
        case noUserTable
        public var description: String { "no user table found (looked for jwt_allauth_jauser and auth_user; name one with --table)" }
    }

    let source: SQLiteDatabase
    let target: any SQLConnection

    public init(source: SQLiteDatabase, target: any SQLConnection) {
        self.source = source
        self.target = target
    }

    public func run(table explicitTable: String?) throws -> Report {
        let table = try explicitTable ?? ["jwt_allauth_jauser", "auth_user"].first { name in
            try source.first("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [.text(name)]) { _ in true } ?? false
        } ?? { throw ImportError.noUserTable }()
        guard table.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { throw ImportError.noUserTable }
        var columns: Set<String> = []
        try source.query("SELECT name FROM pragma_table_info(?)", [.text(table)]) { columns.insert($0.string(0)) }
        let hasRole = columns.contains("role")
        let hasAddresses = try source.first("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'account_emailaddress'") { _ in true } ?? false
        let verifiedSQL = hasAddresses
            ? "(SELECT COUNT(*) FROM account_emailaddress a WHERE a.user_id = u.id AND a.verified)"
            : "0"
        let sql = """
            SELECT u.email, u.password, u.first_name, u.last_name, u.is_active, u.is_staff, u.is_superuser,
                   \(hasRole ? "u.role" : "NULL"), u.date_joined, u.last_login, \(verifiedSQL), u.id
            FROM \(table) u WHERE u.id > ? ORDER BY u.id LIMIT ?
            """
        var report = Report()
        let users = UserStore(target)
        // In batches, each its own transaction, so that an import into a live database holds the
        // write lock for milliseconds at a time and the pool keeps serving; a re-run after an
        // interruption skips the users already copied.
        var lastID = Int64.min
        while true {
            var batch: [SourceUser] = []
            try source.query(sql, [.integer(lastID), .integer(Int64(batchSize))]) { batch.append(SourceUser($0)) }
            guard let last = batch.last else { break }
            lastID = last.id
            try target.transaction {
                for user in batch {
                    guard !user.email.isEmpty else { report.skippedWithoutEmail += 1; continue }
                    // Django's unusable passwords ("!…") are kept as they are. A hash that would never
                    // verify is not kept: the account gets an unusable password of its own.
                    var passwordHash = user.password
                    var unchecked: UncheckedRow?
                    do throws(UncheckableHash) {
                        _ = try DjangoPasswordHashes.decode(user.password)
                    } catch .unusable {
                    } catch {
                        unchecked = UncheckedRow(id: user.id, email: user.email, reason: error)
                        passwordHash = PasswordHasher.unusable()
                    }
                    do {
                        try users.create(
                            email: user.email, passwordHash: passwordHash, firstName: user.firstName, lastName: user.lastName,
                            role: user.role, isActive: user.isActive, emailVerified: user.emailVerified,
                            dateJoined: Self.epoch(user.dateJoined) ?? Int64(Date().timeIntervalSince1970),
                            lastLogin: Self.epoch(user.lastLogin))
                        report.imported += 1
                        if let unchecked { report.withoutUsablePassword.append(unchecked) }
                    } catch UserStore.CreateError.emailTaken {
                        report.skippedExisting += 1
                    }
                }
            }
        }
        return report
    }

    /// Users copied per transaction.
    var batchSize = 500

    /// One row of the Django user table, as read.
    private struct SourceUser {
        var id: Int64
        var email, password, firstName, lastName: String
        var role: Int
        var isActive, emailVerified: Bool
        var dateJoined, lastLogin: String?

        init(_ row: Row) {
            id = row.int(11)
            email = row.string(0).trimmingCharacters(in: .whitespaces)
            password = row.string(1)
            firstName = row.string(2)
            lastName = row.string(3)
            isActive = row.bool(4)
            let isStaff = row.bool(5), isSuperuser = row.bool(6)
            role = row.optionalInt(7).map(Int.init) ?? (isStaff ? Role.staff : isSuperuser ? Role.superuser : Role.user)
            dateJoined = row.optionalString(8)
            lastLogin = row.optionalString(9)
            emailVerified = row.int(10) > 0
        }
    }

    /// Django writes datetimes as `2025-03-10 20:15:01.123456` (UTC, optionally with an offset).
    static func epoch(_ text: String?) -> Int64? {
        guard let text, text.count >= 19 else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        let base = String(text.prefix(19)).replacingOccurrences(of: "T", with: " ")
        return formatter.date(from: base).map { Int64($0.timeIntervalSince1970) }
    }
}
