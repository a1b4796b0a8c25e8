import Foundation
import Testing
@testable import AllauthDomain
@testable import AllauthStore

/// `migrate-store`: an SQLite store with a row in every table arrives whole in PostgreSQL, and
/// the service's stores work on the copy as they did on the original.
@Suite(.serialized)
struct StoreCopyTests {
    let now: Int64 = 1_800_000_000

    /// An SQLite store with `users` accounts, each with a session, and one row in every other table.
    func filledSQLite(users count: Int = 3) throws -> (db: SQLiteDatabase, session: WhitelistEntry, resetToken: String) {
        let db = try SQLiteDatabase.temporaryMigrated("copy")
        var session: WhitelistEntry?
        var resetToken = ""
        for index in 0..<count {
            let user = try UserStore(db).create(email: "user\(index)@example.com", passwordHash: "hash\(index)", firstName: "Zoë",
                                                emailVerified: true, dateJoined: now)
            try UserStore(db).setLanguage(userID: user.id, "pt_BR")
            let entry = WhitelistEntry(jti: TokenService.newIdentifier(), session: TokenService.newIdentifier(), userID: user.id,
                                       enabled: true, created: now, expires: now + 1000, sessionIat: now)
            try Whitelist(db).insert(entry, device: DeviceInfo(ip: "192.0.2.1", userAgent: nil))
            session = session ?? entry
            if index == 0 {
                resetToken = try OneTimeTokens(db).issue(.passwordReset, userID: user.id, now: now, lifetime: 3600)
                try Outbox(db).enqueue(OutgoingMail(kind: "reset", from: "a@example.com", to: user.email, subject: "s", text: "t", html: "<p>h</p>"),
                                       now: now)
                _ = try Throttle(db, settings: ThrottleSettings(enabled: true, loginIP: nil, loginAccount: nil, scale: 1, registrationIP: nil,
                                                               passwordResetIP: nil, passwordResetAddress: nil, confirmationMailAddress: nil,
                                                               mfaVerifyIP: nil))
                    .consume([("login:x", Rate(count: 5, window: 60))])
                let authenticators = AuthenticatorStore(db)
                try authenticators.addTOTP(userID: user.id, sealedSecret: [0, 1, 2, 254, 255], acceptedStep: 7, now: 1.5)
                try authenticators.replaceRecoveryCodes(userID: user.id, digests: ["aa", "bb"], now: 2.5)
                try authenticators.storeSetupSecret(userID: user.id, sealedSecret: [9, 8], expires: now + 60)
                let challenges = ChallengeStore(db: db)
                _ = try challenges.issue(.login, userID: user.id, now: now, lifetime: 300)
                try challenges.addFailure(userID: user.id, at: 3.25)
                try SocialAccounts(db).connect(userID: user.id, provider: "example", uid: "u-1", claims: .object([("sub", "u-1")]), now: now)
                _ = try SpentIDTokens(db).spend(IDTokenUse(digest: String(repeating: "ab", count: 32), expires: now + 600))
                _ = try db.run("INSERT INTO reauthentications (session, user_id, at) VALUES (?, ?, ?)",
                               [.text(entry.session), .integer(user.id), .integer(now)])
            }
        }
        return (db, session!, resetToken)
    }

    @Test func everyTableArrivesWithItsRowsAndTheServiceWorksOnTheCopy() throws {
        let (source, session, resetToken) = try filledSQLite()
        let (_, target) = try TestPostgreSQL.migrated()
        var reports: [StoreCopy.Progress] = []
        let counts = try StoreCopy(from: source, to: target, batchSize: 2).run { reports.append($0) }
        #expect(counts.count == StoreCopy.tables.count)
        #expect(counts.allSatisfy { $0.matches }, "\(counts)")
        #expect(counts.allSatisfy { $0.source > 0 }, "every table had a row to copy: \(counts)")
        #expect(Set(reports.filter(\.finished).map(\.table)) == Set(StoreCopy.tables.map(\.name)))

        let user = try #require(try UserStore(target).find(email: "USER0@example.com"))
        #expect(user.password == "hash0" && user.firstName == "Zoë" && user.emailVerified && user.dateJoined == now)
        #expect(try UserStore(target).language(userID: user.id) == "pt_BR")
        #expect(try AuthenticatorStore(target).totp(userID: user.id)?.sealedSecret == [0, 1, 2, 254, 255], "blobs arrive byte for byte")
        #expect(try AuthenticatorStore(target).setupSecret(userID: user.id, now: now) == [9, 8])
        #expect(try ChallengeStore(db: target).failures(userID: user.id, since: 0) == [3.25])
        // The copied session rotates, and a copied reset link is spent once.
        let claims = TokenClaims(tokenType: .refresh, exp: session.expires, iat: session.created, jti: session.jti, userID: String(session.userID),
                                 session: session.session, sessionIat: session.sessionIat, role: 0, emailVerified: true, custom: [])
        guard case .rotated = try Whitelist(target).rotate(presented: claims, now: now + 5, refreshLifetime: 1000, sessionLifetime: nil,
                                                            grace: 0, newJTI: TokenService.newIdentifier(), device: .none)
        else { Issue.record("the copied session did not rotate"); return }
        #expect(try OneTimeTokens(target).consume(resetToken, .passwordReset, now: now) == user.id)
        // New rows get ids after the copied ones.
        let fresh = try UserStore(target).create(email: "new@example.com", passwordHash: "x", emailVerified: false)
        #expect(fresh.id == 4)
    }

    @Test func anInterruptedCopyResumesWithoutDuplicatesOrGaps() throws {
        let (source, _, _) = try filledSQLite(users: 7)
        let (_, target) = try TestPostgreSQL.migrated()
        // An earlier run that stopped after the first three users' batch.
        let users = StoreCopy.tables[0]
        try source.query("SELECT \(users.sourceColumns.joined(separator: ", ")) FROM users ORDER BY id LIMIT 3", []) { row in
            try target.run("INSERT INTO users (\(users.targetColumns.joined(separator: ", "))) VALUES (\(users.targetColumns.map { _ in "?" }.joined(separator: ", ")))",
                           (0..<Int32(users.sourceColumns.count)).map { row.value($0) })
        }
        var resumedAt: [String: Int] = [:]
        let counts = try StoreCopy(from: source, to: target, batchSize: 3).run { progress in
            resumedAt[progress.table] = progress.resumedFrom
        }
        #expect(counts.allSatisfy { $0.matches }, "\(counts)")
        #expect(resumedAt["users"] == 3, "the users' copy went on from the fourth row")
        #expect(try target.first("SELECT COUNT(DISTINCT id) FROM users", []) { $0.int(0) } == 7)
        // Run again: nothing to add, still equal.
        #expect(try StoreCopy(from: source, to: target).run { _ in }.allSatisfy { $0.matches })
    }

    @Test func aTargetHoldingRowsOfItsOwnIsRefusedNotMerged() throws {
        let (source, _, _) = try filledSQLite(users: 2)
        let (_, target) = try TestPostgreSQL.migrated()
        try UserStore(target).create(email: "already@example.com", passwordHash: "x", emailVerified: false)
        #expect(throws: StoreCopy.CopyError.foreignRows(table: "users")) { try StoreCopy(from: source, to: target).run { _ in } }
    }

    @Test func theCountCheckSeesARowMissingFromTheTarget() throws {
        let (source, _, _) = try filledSQLite(users: 3)
        let (_, target) = try TestPostgreSQL.migrated()
        _ = try StoreCopy(from: source, to: target).run { _ in }
        try target.run("DELETE FROM refresh_tokens WHERE user_id = 1", [])
        let counts = try StoreCopy(from: source, to: target).run { _ in }
        #expect(counts.first { $0.table == "refresh_tokens" }.map { $0.source == 3 && $0.target == 2 } == true, "\(counts)")
    }

    @Test func onlySQLiteToPostgreSQLIsACopy() throws {
        let sqlite = try SQLiteDatabase.temporaryMigrated("copy")
        #expect(throws: StoreCopy.CopyError.self) { try StoreCopy(from: sqlite, to: sqlite) }
    }
}
