import Foundation
import Testing
@testable import AllauthCore
@testable import AllauthDomain

#if canImport(Glibc)
import Glibc
#endif

/// `jwt-allauth rotate-key` then SIGHUP, as docs/deploying.md tells the sysadmin, against a running
/// pool behind nginx: tokens of the old key keep working until they expire, new ones carry the new
/// kid, and after the access lifetime plus the leeway the old key verifies nothing.
/// The rules themselves are `KeyRotationTests`, in process.
@Suite(.serialized)
struct RotateKeyTests {
    /// SIGHUP to the master; returns once every worker is a new one (the old ones have exited).
    func reload(_ instance: TestInstance) throws {
        let before = instance.workerPIDs
        kill(try #require(instance.masterPID), SIGHUP)
        try awaitNewWorkers(instance, replacing: before, timeout: 60)
    }

    /// Returns once the pool has its full count of workers and none of `before` is among them.
    func awaitNewWorkers(_ instance: TestInstance, replacing before: [pid_t], timeout: TimeInterval) throws {
        let replaced = instance.eventually(timeout: timeout) {
            let now = instance.workerPIDs
            return now.count == instance.expectedWorkers && Set(now).isDisjoint(with: before)
        }
        try #require(replaced, "workers replaced: \(instance.log)")
    }

    func kid(_ token: String) throws -> String? { try JWTParts(token).header["kid"]?.string }

    func publishedKids(_ instance: TestInstance) throws -> Set<String> {
        let jwks = try instance.client.get("/jwt-allauth/jwks/")
        #expect(jwks.status == 200)
        return Set(jwks.json?["keys"]?.array?.compactMap { $0["kid"]?.string } ?? [])
    }

    /// The statuses of user/, verify/ and the location nginx protects with auth_request.
    func statuses(_ instance: TestInstance, _ token: String) throws -> [Int] {
        let bearer = ("Authorization", "Bearer \(token)")
        return try ["/jwt-allauth/user/", "/jwt-allauth/verify/", "/protected/page"].map { try instance.client.get($0, headers: [bearer]).status }
    }

    func retiredFiles(_ instance: TestInstance) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: instance.directory.path + "/keys/retired")) ?? []).sorted()
    }

    @Test func oldTokensKeepWorkingAfterTheReloadAndNewOnesCarryTheNewKid() throws {
        let instance = try TestInstance(algorithm: "RS256")
        try instance.createUser("alice@example.com")
        let a = try instance.session("alice@example.com")
        let oldKid = try #require(try kid(a.access))
        #expect(try publishedKids(instance) == [oldKid])

        let rotated = try instance.command(["rotate-key"])
        #expect(rotated.status == 0, "\(rotated.output)")
        #expect(rotated.output.contains("next: systemctl reload jwt-allauth"), "\(rotated.output)")
        #expect(retiredFiles(instance).count == 1 && retiredFiles(instance)[0].contains(".\(oldKid).pem"))
        // Until the reload the running workers sign with the key they loaded.
        #expect(try kid(try instance.session("alice@example.com").access) == oldKid)
        // So do workers that start before it: the master hands them the keys it read, not the
        // files as rotate-key left them (else a respawn would sign tokens its siblings refuse).
        let killed = instance.workerPIDs
        for pid in killed { kill(pid, SIGKILL) }
        try awaitNewWorkers(instance, replacing: killed, timeout: 30)
        for _ in 0..<6 {
            let session = try instance.session("alice@example.com")
            #expect(try kid(session.access) == oldKid, "a respawned worker signs with the key of its generation")
            #expect(try statuses(instance, session.access) == [200, 200, 200])
        }
        #expect(try publishedKids(instance) == [oldKid])

        try reload(instance)
        #expect(try statuses(instance, a.access) == [200, 200, 200], "a token of the old key, after the reload")
        let b = try instance.session("alice@example.com")
        let newKid = try #require(try kid(b.access))
        #expect(newKid != oldKid)
        #expect(rotated.output.contains(newKid))
        #expect(try statuses(instance, b.access) == [200, 200, 200])
        // The refresh secret was not touched: the old login refreshes, into a token of the new key.
        let refreshed = try #require(ClientSession(try instance.refresh(cookie: a.refresh)))
        #expect(try kid(refreshed.access) == newKid)

        let jwks = try #require(try instance.client.get("/jwt-allauth/jwks/").json)
        #expect(try publishedKids(instance) == [oldKid, newKid])
        #expect(try verifiesAgainstJWKS(a.access, jwks: jwks), "an outside verifier checks both from the JWKS")
        #expect(try verifiesAgainstJWKS(b.access, jwks: jwks))
    }

    @Test func afterTheAccessLifetimeAndLeewayTheRetiredKeyVerifiesNothing() throws {
        let instance = try TestInstance(environment: ["JWT_ALLAUTH_TOKENS_ACCESS_LIFETIME": "20s",
                                                      "JWT_ALLAUTH_TOKENS_RETIRED_KEY_LEEWAY": "2s"])
        let user = try instance.createUser("bob@example.com")
        let a = try instance.session("bob@example.com")
        let oldKid = try #require(try kid(a.access))
        // The old private key, as an attacker who copied it would hold it.
        let stolen = try instance.tokenService()
        func forged(expiringIn seconds: Int64) throws -> String {
            let now = Int64(Date().timeIntervalSince1970)
            return try stolen.mint(TokenClaims(tokenType: .access, exp: now + seconds, iat: now, jti: TokenService.newIdentifier(),
                                               userID: String(user.id), session: try JWTParts(a.access).claims["session"]?.string ?? "",
                                               sessionIat: now, role: 1000, emailVerified: true, custom: []))
        }

        let rotated = try instance.command(["rotate-key"])
        #expect(rotated.status == 0, "\(rotated.output)")
        let file = try #require(retiredFiles(instance).first)
        let deadline = try #require(RetiredKeys.parseStamp(String(file.prefix(16)))) + 20 + 2
        try reload(instance)
        let newKid = try #require(try kid(try instance.session("bob@example.com").access))
        #expect(try statuses(instance, a.access) == [200, 200, 200])
        #expect(try publishedKids(instance) == [oldKid, newKid])
        // Even during the overlap the old key verifies nothing that would outlive its deadline.
        #expect(try statuses(instance, try forged(expiringIn: 600)) == [401, 401, 401])

        while Int64(Date().timeIntervalSince1970) <= deadline { usleep(200_000) }
        #expect(try publishedKids(instance) == [newKid], "gone from the JWKS, without another reload")
        #expect(try statuses(instance, try forged(expiringIn: 15)) == [401, 401, 401], "a token signed with the retired key")
        #expect(try statuses(instance, try instance.session("bob@example.com").access) == [200, 200, 200])

        // The next rotation deletes it.
        let again = try instance.command(["rotate-key"])
        #expect(again.status == 0 && again.output.contains("removed: ") && again.output.contains(file), "\(again.output)")
        #expect(retiredFiles(instance).count == 1 && retiredFiles(instance)[0].contains(".\(newKid).pem"))
    }

    @Test func anHS256SecretRotatesTheSameWayAndIsNeverPublished() throws {
        let instance = try TestInstance(algorithm: "HS256")
        try instance.createUser("carol@example.com")
        let a = try instance.session("carol@example.com")
        let rotated = try instance.command(["rotate-key"])
        #expect(rotated.status == 0, "\(rotated.output)")
        let file = try #require(retiredFiles(instance).first)
        #expect(file.hasSuffix(".key"))
        var info = stat()
        stat(instance.directory.path + "/keys/retired/" + file, &info)
        #expect(info.st_mode & 0o777 == 0o600, "the retired secret is a secret")
        try reload(instance)
        let b = try instance.session("carol@example.com")
        #expect(try kid(b.access) != kid(a.access))
        #expect(try statuses(instance, a.access) == [200, 200, 200])
        #expect(try statuses(instance, b.access) == [200, 200, 200])
        #expect(try publishedKids(instance).isEmpty)
    }

    @Test func aRotationThatCannotRunSaysWhyInOneLineAndChangesNothing() throws {
        let instance = try TestInstance()
        let key = instance.directory.path + "/keys/private.pem"
        let before = try String(contentsOfFile: key, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: instance.directory.path + "/keys/retired", withIntermediateDirectories: true)
        try "notes".write(toFile: instance.directory.path + "/keys/retired/README", atomically: false, encoding: .utf8)
        let refused = try instance.command(["rotate-key"])
        #expect(refused.status == 1)
        #expect(refused.output.split(separator: "\n").count == 1 && refused.output.contains("retired/README"), "\(refused.output)")
        #expect(!refused.output.contains("Usage"))
        #expect(try String(contentsOfFile: key, encoding: .utf8) == before)
        // What the service would refuse on reload, rotate-key refuses first; the running pool is untouched.
        #expect(try instance.client.get("/jwt-allauth/health/").status == 200)
    }
}
