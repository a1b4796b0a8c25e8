import Foundation
import Testing
@testable import AllauthDomain
@testable import AllauthStore

/// The rotation algorithm at the store level, one outcome at a time.
struct WhitelistTests {
    let db: SQLiteDatabase
    let whitelist: Whitelist
    let user: UserRecord
    let now: Int64 = 1_800_000_000

    init() throws {
        db = try SQLiteDatabase.temporaryMigrated("whitelist")
        whitelist = Whitelist(db)
        user = try UserStore(db).create(email: "w@example.com", passwordHash: "x", emailVerified: false)
    }

    func open(enabled: Bool = true, at time: Int64? = nil) throws -> WhitelistEntry {
        let at = time ?? now
        let entry = WhitelistEntry(jti: TokenService.newIdentifier(), session: TokenService.newIdentifier(), userID: user.id,
                                   enabled: enabled, created: at, expires: at + 1000, sessionIat: at)
        try whitelist.insert(entry, device: .none)
        return entry
    }

    func presented(_ entry: WhitelistEntry) -> TokenClaims {
        TokenClaims(tokenType: .refresh, exp: entry.expires, iat: entry.created, jti: entry.jti, userID: String(entry.userID),
                    session: entry.session, sessionIat: entry.sessionIat, role: 0, emailVerified: false, custom: [])
    }

    func rotate(_ entry: WhitelistEntry, at time: Int64? = nil, lifetime: Int64? = nil, grace: Int64 = 0) throws -> RotationOutcome {
        try whitelist.rotate(presented: presented(entry), now: time ?? now + 10, refreshLifetime: 1000, sessionLifetime: lifetime,
                             grace: grace, newJTI: TokenService.newIdentifier(), device: .none)
    }

    @Test func rotationReplacesTheRowAndKeepsTheSession() throws {
        let entry = try open()
        guard case .rotated(_, let successor) = try rotate(entry) else { Issue.record("not rotated"); return }
        #expect(successor.session == entry.session && successor.jti != entry.jti)
        #expect(successor.expires == now + 10 + 1000 && successor.sessionIat == entry.sessionIat)
        #expect(try whitelist.find(jti: entry.jti) == nil)
        #expect(try whitelist.find(jti: successor.jti) == successor)
    }

    @Test func aReplayRevokesTheWholeSessionOnly() throws {
        let entry = try open(), other = try open()
        guard case .rotated = try rotate(entry) else { Issue.record("not rotated"); return }
        #expect(try rotate(entry) == .replayed)
        #expect(try whitelist.isLive(session: entry.session) == false)
        #expect(try whitelist.isLive(session: other.session))
    }

    @Test func aDisabledRowSaysWhetherTheAddressIsVerified() throws {
        let entry = try open(enabled: false)
        #expect(try rotate(entry) == .disabled(emailVerified: false))
        #expect(try whitelist.isLive(session: entry.session), "nothing revoked")
        try db.run("UPDATE users SET email_verified = 1 WHERE id = ?", [.integer(user.id)])
        #expect(try rotate(entry) == .disabled(emailVerified: true))
    }

    @Test func pastTheSessionLifetimeTheSessionEnds() throws {
        let entry = try open()
        #expect(try rotate(entry, at: now + 100, lifetime: 100) == .sessionExpired)
        #expect(try whitelist.isLive(session: entry.session) == false)
        let capped = try open()
        guard case .rotated(_, let successor) = try rotate(capped, at: now + 50, lifetime: 100) else { Issue.record("not rotated"); return }
        #expect(successor.expires == now + 100, "never beyond the deadline")
    }

    @Test func anInactiveAccountLosesEverySession() throws {
        let a = try open(), b = try open()
        try UserStore(db).setActive(userID: user.id, false)
        #expect(try rotate(a) == .inactive)
        #expect(try whitelist.isLive(session: b.session) == false)
    }

    @Test func aTokenOfAClosedSessionIsNotAReplayAgain() throws {
        let entry = try open()
        guard case .rotated = try rotate(entry) else { Issue.record("not rotated"); return }
        #expect(try rotate(entry) == .replayed)
        #expect(try rotate(entry) == .sessionClosed, "the session was revoked by the first replay")
        let loggedOut = try open()
        try whitelist.revoke(session: loggedOut.session)
        #expect(try rotate(loggedOut) == .sessionClosed, "a stale cookie after logout is not a theft")
    }

    @Test func theGraceWindowServesOnlyTheImmediatePredecessor() throws {
        let first = try open()
        guard case .rotated(_, let second) = try rotate(first, grace: 5) else { Issue.record("not rotated"); return }
        guard case .rotated(_, let again) = try rotate(first, at: now + 12, grace: 5) else { Issue.record("no grace"); return }
        #expect(again == second, "the same successor, not a new one")
        #expect(try rotate(first, at: now + 16, grace: 5) == .replayed, "outside the window")
        let fresh = try open()
        guard case .rotated(_, let next) = try rotate(fresh, grace: 5) else { Issue.record("not rotated"); return }
        guard case .rotated = try rotate(next, grace: 5) else { Issue.record("not rotated"); return }
        #expect(try rotate(fresh, grace: 5) == .replayed, "an older ancestor is a replay")
        #expect(try whitelist.isLive(session: fresh.session) == false)
    }
}
