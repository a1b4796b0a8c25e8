import Foundation
import Testing
@testable import AllauthDomain
@testable import AllauthStore

/// The store's guarantees on PostgreSQL, where READ COMMITTED does not serialise writers as
/// SQLite's BEGIN IMMEDIATE does: each test races many connections (as the worker threads of
/// several hosts) against one database and counts who won.
@Suite(.serialized)
struct PostgreSQLGuaranteeTests {
    let url: String
    let db: PostgreSQLDatabase
    let user: UserRecord
    let now: Int64 = 1_800_000_000

    init() throws {
        (url, db) = try TestPostgreSQL.migrated()
        user = try UserStore(db).create(email: "race@example.com", passwordHash: "x", emailVerified: true)
    }

    func openSession() throws -> WhitelistEntry {
        let entry = WhitelistEntry(jti: TokenService.newIdentifier(), session: TokenService.newIdentifier(), userID: user.id,
                                   enabled: true, created: now, expires: now + 1000, sessionIat: now)
        try Whitelist(db).insert(entry, device: .none)
        return entry
    }

    static func rotate(_ entry: WhitelistEntry, on db: any SQLConnection, grace: Int64, at now: Int64) throws -> RotationOutcome {
        let claims = TokenClaims(tokenType: .refresh, exp: entry.expires, iat: entry.created, jti: entry.jti, userID: String(entry.userID),
                                 session: entry.session, sessionIat: entry.sessionIat, role: 0, emailVerified: true, custom: [])
        return try Whitelist(db).rotate(presented: claims, now: now + 5, refreshLifetime: 1000, sessionLifetime: nil, grace: grace,
                                        newJTI: TokenService.newIdentifier(), device: .none)
    }

    @Test func parallelRotationsOfOneTokenRotateItExactlyOnce() throws {
        let entry = try openSession()
        let now = self.now
        let outcomes = try onParallelConnections(16, url: url) { db, _ in try Self.rotate(entry, on: db, grace: 0, at: now) }.map { try $0.get() }
        let rotated = outcomes.filter { if case .rotated = $0 { true } else { false } }
        #expect(outcomes.count == 16)
        #expect(rotated.count == 1, "\(outcomes)")
        #expect(outcomes.contains(.replayed), "the losers are replays, and one of them revoked the session")
        #expect(try Whitelist(db).isLive(session: entry.session) == false)
    }

    @Test func withAGraceWindowParallelRotationsAllGetTheOneSuccessor() throws {
        let entry = try openSession()
        let now = self.now
        let outcomes = try onParallelConnections(16, url: url) { db, _ in try Self.rotate(entry, on: db, grace: 10, at: now) }.map { try $0.get() }
        let successors = Set(outcomes.compactMap { outcome -> String? in
            if case .rotated(_, let successor) = outcome { successor.jti } else { nil }
        })
        #expect(outcomes.count == 16 && successors.count == 1, "\(outcomes)")
        #expect(try db.first("SELECT COUNT(*) FROM refresh_tokens WHERE session = ?", [.text(entry.session)]) { $0.int(0) } == 1)
    }

    @Test func logoutAllRacingRotationsLeavesNoLiveRow() throws {
        let sessions = try (0..<8).map { _ in try openSession() }
        let now = self.now, userID = user.id
        let results = onParallelConnections(9, url: url) { db, index -> Int in
            if index == 8 { return try db.transaction(.write) { try Whitelist(db).revoke(userID: userID) } }
            _ = try Self.rotate(sessions[index], on: db, grace: 0, at: now)
            return 0
        }
        #expect(results.count == 9 && results.allSatisfy { (try? $0.get()) != nil })
        // Whatever the order, a rotation that committed before the logout-all lost its row to it, and
        // one after found nothing to rotate: either way no session survives.
        #expect(try db.first("SELECT COUNT(*) FROM refresh_tokens WHERE user_id = ?", [.integer(userID)]) { $0.int(0) } == 0)
    }

    @Test func aThrottleBudgetHoldsAcrossConnections() throws {
        let settings = ThrottleSettings(enabled: true, loginIP: nil, loginAccount: nil, scale: 1, registrationIP: nil, passwordResetIP: nil,
                                       passwordResetAddress: nil, confirmationMailAddress: nil, mfaVerifyIP: nil)
        let rate = Rate(count: 5, window: 60)
        let decisions = onParallelConnections(20, url: url) { db, index -> Bool in
            // Two buckets, named in either order: the locks are taken sorted, so no deadlock.
            let buckets = index.isMultiple(of: 2) ? ["login:a", "login:b"] : ["login:b", "login:a"]
            if case .allowed = try Throttle(db, settings: settings).consume(buckets.map { ($0, rate) }) { return true }
            return false
        }
        #expect(decisions.count == 20)
        #expect(decisions.filter { (try? $0.get()) == true }.count == 5)
        #expect(try db.first("SELECT COUNT(*) FROM throttle_hits", []) { $0.int(0) } == 10)
    }

    @Test func aReleasedThrottleUnitIsGivenBack() throws {
        let settings = ThrottleSettings(enabled: true, loginIP: nil, loginAccount: nil, scale: 1, registrationIP: nil, passwordResetIP: nil,
                                       passwordResetAddress: nil, confirmationMailAddress: nil, mfaVerifyIP: nil)
        let throttle = Throttle(db, settings: settings)
        guard case .allowed(let reservation) = try throttle.consume([("b", Rate(count: 1, window: 60))]) else {
            Issue.record("first unit refused"); return
        }
        try throttle.release(reservation)
        #expect(try db.first("SELECT COUNT(*) FROM throttle_hits", []) { $0.int(0) } == 0)
    }

    @Test func aOneTimeTokenIsSpentOnceAcrossConnections() throws {
        let token = try OneTimeTokens(db).issue(.passwordReset, userID: user.id, now: now, lifetime: 3600)
        let now = self.now
        let spent = onParallelConnections(12, url: url) { db, _ in
            try db.transaction(.write) { try OneTimeTokens(db).consume(token, .passwordReset, now: now) }
        }.compactMap { try? $0.get() }
        #expect(spent == [user.id])
    }

    @Test func everyQueuedMailIsClaimedByExactlyOneMailProcess() throws {
        let outbox = Outbox(db)
        let now = self.now
        let ids = try (0..<30).map { index in
            try outbox.enqueue(OutgoingMail(kind: "test", from: "a@example.com", to: "u\(index)@example.com", subject: "s", text: "t", html: nil),
                               now: now)
        }
        let claims = onParallelConnections(6, url: url) { db, _ -> [Int64] in
            var mine: [Int64] = []
            for _ in 0..<40 {
                guard let entry = try Outbox(db).claimNext(now: now, leaseUntil: now + 60) else { break }
                mine.append(entry.id)
            }
            return mine
        }
        let claimed = claims.flatMap { (try? $0.get()) ?? [] }
        #expect(claimed.sorted() == ids, "each mail once: \(claimed.count) claims of \(ids.count) mails")
    }

    @Test func twoSignUpsOfOneFreeAddressCreateOneAccount() throws {
        let created = onParallelConnections(8, url: url) { db, _ -> Bool in
            try db.transaction(.write) { () throws -> Bool in
                let users = UserStore(db)
                try users.lockAddress("New@Example.com ")
                if try users.find(email: "new@example.com") != nil { return false }
                try users.create(email: "new@example.com", passwordHash: "x", emailVerified: false)
                return true
            }
        }
        #expect(created.count == 8 && created.allSatisfy { (try? $0.get()) != nil }, "no request failed: \(created)")
        #expect(created.filter { (try? $0.get()) == true }.count == 1)
    }

    @Test func anAddressTakenMeanwhileIsReportedAsTakenNotAsAnError() throws {
        #expect(throws: UserStore.CreateError.emailTaken) {
            try db.transaction(.write) { try UserStore(db).create(email: "RACE@example.com", passwordHash: "x", emailVerified: false) }
        }
        #expect(try UserStore(db).find(email: "race@example.com")?.id == user.id)
    }
}
