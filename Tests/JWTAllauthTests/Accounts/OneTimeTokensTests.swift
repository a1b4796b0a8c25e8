import Foundation
import Testing
@testable import AllauthDomain
@testable import AllauthStore

/// The one-time token store: hashed at rest, single use, latest wins, expiry, revocation.
struct OneTimeTokensTests {
    let db: SQLiteDatabase
    let tokens: OneTimeTokens
    let userID: Int64

    init() throws {
        db = try SQLiteDatabase.temporaryMigrated("one-time-tokens")
        tokens = OneTimeTokens(db)
        userID = try UserStore(db).create(email: "holder@example.com", passwordHash: "x", emailVerified: true).id
    }

    @Test func onlyADigestIsStoredAndATokenIsSpentOnce() throws {
        let token = try tokens.issue(.passwordReset, userID: userID, now: 1000, lifetime: 60)
        #expect(token.count == 43, "256 bits, base64url")
        let stored = try db.first("SELECT token_hash FROM one_time_tokens") { $0.string(0) }
        #expect(stored != token && stored == OneTimeTokens.digest(token))
        #expect(try tokens.consume(token, .passwordResetAccess, now: 1001) == nil, "the purpose must match")
        #expect(try tokens.consume(token, .passwordReset, now: 1001) == userID)
        #expect(try tokens.consume(token, .passwordReset, now: 1001) == nil, "spent")
    }

    @Test func aNewTokenReplacesTheOldOneOfThatPurposeOnly() throws {
        let first = try tokens.issue(.passwordReset, userID: userID, now: 1000, lifetime: 60)
        let confirmation = try tokens.issue(.emailConfirmation, userID: userID, now: 1000, lifetime: 60)
        let second = try tokens.issue(.passwordReset, userID: userID, now: 1001, lifetime: 60)
        #expect(try tokens.find(first, purposes: [.passwordReset], now: 1002) == nil)
        #expect(try tokens.find(second, purposes: [.passwordReset], now: 1002)?.userID == userID)
        #expect(try tokens.find(confirmation, purposes: [.emailConfirmation, .invitation], now: 1002)?.purpose == .emailConfirmation)
    }

    @Test func expiredTokensOpenNothingAndRevocationTakesEverything() throws {
        let token = try tokens.issue(.invitation, userID: userID, now: 1000, lifetime: 60)
        #expect(try tokens.hasLive(.invitation, userID: userID, now: 1059))
        #expect(try !tokens.hasLive(.invitation, userID: userID, now: 1060))
        #expect(try tokens.consume(token, .invitation, now: 1060) == nil)
        _ = try tokens.issue(.passwordSetAccess, userID: userID, now: 1000, lifetime: 60)
        #expect(try tokens.revokeAll(userID: userID) == 2)
        #expect(try tokens.find("", purposes: [.invitation], now: 0) == nil)
        #expect(try tokens.find(String(repeating: "a", count: 4000), purposes: [.invitation], now: 0) == nil)
    }
}
