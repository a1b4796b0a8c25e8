import Foundation
import Testing
@testable import AllauthCore
@testable import AllauthDomain

#if canImport(Glibc)
import Glibc
#endif

/// `rotate-key` on a keys directory and the loader's retirement rule: a retired key verifies what it
/// signed until its deadline (retirement + access lifetime + leeway), never signs, and is gone after.
struct KeyRotationTests {
    /// A deployment's keys/ as `init` writes it, with a 10-minute access lifetime and a 1-minute leeway.
    final class KeyDirectory {
        let root: URL
        let tokens: TokenSettings
        var keys: String { root.appendingPathComponent("keys").path }
        var retired: String { keys + "/retired" }

        init(_ algorithm: TokenAlgorithm) throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("rotate-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(atPath: root.path + "/keys", withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let signing = algorithm == .hs256 ? "signing.key" : "private.pem"
            let (privatePEM, publicPEM) = try KeySet.generate(algorithm)
            try Self.write(privatePEM, root.path + "/keys/" + signing, mode: 0o600)
            if let publicPEM { try Self.write(publicPEM, root.path + "/keys/public.pem", mode: 0o644) }
            try Self.write(KeySet.generateSecret(), root.path + "/keys/refresh.key", mode: 0o600)
            tokens = try Config.parse(yaml: """
                tokens:
                  algorithm: \(algorithm.rawValue)
                  signing_key: keys/\(signing)
                  access_lifetime: 10m
                  retired_key_leeway: 1m
                """, baseDirectory: root).tokens
        }

        deinit { try? FileManager.default.removeItem(at: root) }

        static func write(_ text: String, _ path: String, mode: Int) throws {
            try text.write(toFile: path, atomically: false, encoding: .utf8)
            chmod(path, mode_t(mode))
        }

        func load(at now: Int64) throws -> TokenService { TokenService(keys: try KeySet.load(tokens, now: now)) }

        func retiredFiles() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: retired)) ?? []).sorted() }
    }

    let t0: Int64 = 1_800_000_000
    let window: Int64 = 660

    /// Issued at the rotation: only `exp` differs between the tokens below.
    func claims(exp: Int64) -> TokenClaims {
        TokenClaims(tokenType: .access, exp: exp, iat: t0, jti: TokenService.newIdentifier(), userID: "42",
                    session: TokenService.newIdentifier(), sessionIat: t0, role: 0, emailVerified: true, custom: [])
    }

    func kid(_ token: String) throws -> String? {
        try JSON.parse(Base64URL.decode(token.split(separator: ".")[0])!)["kid"]?.stringValue
    }

    func publishedKids(_ service: TokenService, at now: Int64) -> [String] {
        guard case .array(let keys)? = service.keys.jwks(at: now)["keys"] else { return [] }
        return keys.compactMap { $0["kid"]?.stringValue }
    }

    @Test(arguments: [TokenAlgorithm.rs256, .es256, .hs256])
    func theOldKeyVerifiesWhatItSignedUntilItsDeadlineAndNeverSigns(_ algorithm: TokenAlgorithm) throws {
        let directory = try KeyDirectory(algorithm)
        let before = try directory.load(at: t0)
        let oldKid = before.keys.accessSigner.kid
        // The last token the old key signs: a worker not yet reloaded, just before the rotation.
        let last = try before.mint(claims(exp: t0 + 600))

        let outcome = try KeyRotation.rotate(directory.tokens, now: t0)
        #expect(outcome.retiredKid == oldKid && outcome.newKid != oldKid)
        #expect(outcome.verifiesUntil == t0 + window)
        #expect(directory.retiredFiles() == ["20270115T080000Z.\(oldKid).\(algorithm == .hs256 ? "key" : "pem")"])

        let after = try directory.load(at: t0 + 1)
        #expect(after.keys.accessSigner.kid == outcome.newKid)
        #expect(after.keys.retired[oldKid]?.verifiesUntil == t0 + window)
        #expect(try after.verify(last, expecting: .access, now: t0 + 599).get().userID == "42")
        let fresh = try after.mint(claims(exp: t0 + 600))
        #expect(try kid(fresh) == outcome.newKid, "the new key signs, never the retired one")
        #expect(throws: Never.self) { try after.verify(fresh, expecting: .access, now: t0 + 1).get() }
        if algorithm != .hs256 {
            // What retired/ keeps of an asymmetric key cannot sign at all.
            #expect(throws: SigningKeyError.self) { try after.keys.accessVerifiers[oldKid]!.sign([1, 2, 3]) }
            #expect(throws: SigningKeyError.self) {
                try KeySet.loadPrivate(algorithm: algorithm, path: directory.retired + "/" + directory.retiredFiles()[0])
            }
            #expect(Set(publishedKids(after, at: t0 + window - 1)) == [oldKid, outcome.newKid])
            #expect(publishedKids(after, at: t0 + window) == [outcome.newKid], "gone from the JWKS at its deadline, without a reload")
        }
        // The old private key in an attacker's hands: a token outliving the deadline is refused at
        // once, and from the deadline on nothing it signs verifies.
        let forged = try before.mint(claims(exp: t0 + window + 1))
        #expect(after.verify(forged, expecting: .access, now: t0 + 2) == .failure(.invalid))
        let reloadedLate = try directory.load(at: t0 + window)
        #expect(reloadedLate.keys.accessVerifiers[oldKid] == nil, "the loader skips a key past its deadline")
        #expect(reloadedLate.verify(try before.mint(claims(exp: t0 + window + 300)), expecting: .access, now: t0 + window) == .failure(.invalid))
    }

    @Test func rotatingTwiceKeepsTheKeyBeforeLastUntilItsOwnDeadlineAndTheNextRotationDeletesExpiredOnes() throws {
        let directory = try KeyDirectory(.es256)
        let first = try directory.load(at: t0).keys.accessSigner.kid
        let a = try KeyRotation.rotate(directory.tokens, now: t0)
        let b = try KeyRotation.rotate(directory.tokens, now: t0 + 10)
        #expect(a.retiredKid == first && b.retiredKid == a.newKid)
        #expect(Set(try directory.load(at: t0 + 11).keys.retired.keys) == [first, a.newKid])
        #expect(Set(try directory.load(at: t0 + window + 5).keys.retired.keys) == [a.newKid], "each by its own deadline")
        #expect(try directory.load(at: t0 + window + 10).keys.retired.isEmpty)
        #expect(directory.retiredFiles().count == 2, "the loader deletes nothing")
        let c = try KeyRotation.rotate(directory.tokens, now: t0 + window + 10)
        #expect(c.removed.count == 2)
        #expect(directory.retiredFiles() == ["\(RetiredKeys.stamp(t0 + window + 10)).\(b.newKid).pem"])
    }

    @Test func aCompromisedKeyIsNotKept() throws {
        let directory = try KeyDirectory(.es256)
        let before = try directory.load(at: t0)
        let token = try before.mint(claims(exp: t0 + 600))
        let outcome = try KeyRotation.rotate(directory.tokens, keepRetired: false, now: t0)
        #expect(outcome.retiredFile == nil && outcome.verifiesUntil == nil)
        #expect(directory.retiredFiles().isEmpty)
        let after = try directory.load(at: t0 + 1)
        #expect(after.keys.accessVerifiers.count == 1)
        #expect(after.verify(token, expecting: .access, now: t0 + 1) == .failure(.invalid))
    }

    @Test(.enabled(if: getuid() == 0, "chown needs root"), arguments: [
        // init's site: root's key, read by the service's group; the new one the same, retired/ 0750.
        (oldMode: mode_t(0o640), newMode: mode_t(0o640), retiredDirectory: mode_t(0o750), shared: false),
        // The service user's own key (dev, or a hand-made layout).
        (oldMode: mode_t(0o600), newMode: mode_t(0o600), retiredDirectory: mode_t(0o700), shared: false),
        // A key others could read: not any more, and the command warns it may have been copied.
        (oldMode: mode_t(0o604), newMode: mode_t(0o600), retiredDirectory: mode_t(0o700), shared: true),
    ])
    func theNewFilesTakeTheKeysOwnerAndGroupAndAreReadableByNoOneElse(oldMode: mode_t, newMode: mode_t, retiredDirectory: mode_t, shared: Bool) throws {
        let directory = try KeyDirectory(.es256)
        let signing = directory.keys + "/private.pem"
        // Another owner and group than root's, who rotates; the directory root owns and others may enter.
        chown(signing, 65534, 65534)
        chmod(directory.keys, 0o711)
        chmod(signing, oldMode)
        let outcome = try KeyRotation.rotate(directory.tokens, now: t0)
        #expect(outcome.oldKeyWasShared == shared)
        func owner(_ path: String) -> (uid_t, gid_t, mode_t) {
            var info = stat()
            stat(path, &info)
            return (info.st_uid, info.st_gid, info.st_mode & 0o7777)
        }
        #expect(owner(signing) == (65534, 65534, newMode))
        #expect(owner(directory.retired) == (65534, 65534, retiredDirectory))
        #expect(owner(try #require(outcome.retiredFile)) == (65534, 65534, newMode))
        #expect(owner(directory.keys + "/public.pem") == (0, 0, 0o644), "public.pem keeps its own")
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.keys).filter { $0.hasPrefix(".") }
        #expect(left.isEmpty, "no temporary file left: \(left)")
    }

    @Test func publicPemFollowsTheSigningKeyOnlyWhenItWasTheOldKeys() throws {
        let directory = try KeyDirectory(.es256)
        let companion = directory.keys + "/public.pem"
        let outcome = try KeyRotation.rotate(directory.tokens, now: t0)
        #expect(outcome.publicKey == companion)
        #expect(!outcome.oldKeyWasShared)
        let published = try KeySet.loadPublic(algorithm: .es256, path: companion)
        #expect(published.kid == outcome.newKid)
        try "someone else's key\n".write(toFile: companion, atomically: false, encoding: .utf8)
        #expect(try KeyRotation.rotate(directory.tokens, now: t0 + 1).publicKey == nil)
        #expect(try String(contentsOfFile: companion, encoding: .utf8) == "someone else's key\n")
    }

    @Test func aForeignOrMisnamedFileInRetiredStopsTheLoadAndTheRotation() throws {
        let directory = try KeyDirectory(.es256)
        let first = try KeyRotation.rotate(directory.tokens, now: t0)
        let retiredFile = try #require(first.retiredFile)
        // A dot file is a rotation's temporary file: skipped.
        try "x".write(toFile: directory.retired + "/.left-over.tmp", atomically: false, encoding: .utf8)
        #expect(throws: Never.self) { try directory.load(at: t0 + 1) }
        // A key under another key's kid would publish a kid that does not verify what it names.
        let misnamed = directory.retired + "/\(RetiredKeys.stamp(t0)).\(first.newKid).pem"
        try FileManager.default.moveItem(atPath: retiredFile, toPath: misnamed)
        #expect(throws: SigningKeyError.self) { try directory.load(at: t0 + 1) }
        try FileManager.default.moveItem(atPath: misnamed, toPath: retiredFile)
        try "notes".write(toFile: directory.retired + "/README", atomically: false, encoding: .utf8)
        #expect(throws: SigningKeyError.self) { try directory.load(at: t0 + 1) }
        let signing = try String(contentsOfFile: directory.keys + "/private.pem", encoding: .utf8)
        #expect(throws: SigningKeyError.self) { try KeyRotation.rotate(directory.tokens, now: t0 + 2) }
        #expect(try String(contentsOfFile: directory.keys + "/private.pem", encoding: .utf8) == signing, "nothing written")
    }

    @Test func twoRotationsAtOnceDoNotBothRun() throws {
        let directory = try KeyDirectory(.es256)
        let held = open(directory.keys, O_RDONLY | O_DIRECTORY)
        defer { close(held) }
        #expect(flock(held, LOCK_EX | LOCK_NB) == 0)
        #expect(throws: KeyRotationError.self) { try KeyRotation.rotate(directory.tokens, now: t0) }
        #expect(directory.retiredFiles().isEmpty)
    }

    @Test func retirementTimesRoundTripAndOnlyRealTimesParse() {
        #expect(RetiredKeys.stamp(0) == "19700101T000000Z")
        #expect(RetiredKeys.stamp(t0) == "20270115T080000Z")
        #expect(RetiredKeys.parseStamp(RetiredKeys.stamp(t0 + 59)) == t0 + 59)
        for bad in ["20270231T000000Z", "20270115T080000", "2027-01-15T08:00", "+0270115T080000Z", "20270115T246000Z"] {
            #expect(RetiredKeys.parseStamp(bad) == nil, "\(bad)")
        }
    }

    /// What `serve`'s master hands its workers: a load replayed from its record needs no disk, and
    /// keeps the keys of the moment it was read whatever rotate-key did since.
    @Test(arguments: [TokenAlgorithm.es256, .hs256])
    func aRecordedLoadReplaysTheSameKeysWithoutTheDisk(_ algorithm: TokenAlgorithm) throws {
        let directory = try KeyDirectory(algorithm)
        _ = try KeyRotation.rotate(directory.tokens, now: t0)
        let files = KeyFiles()
        let recorded = try KeySet.load(directory.tokens, now: t0 + 1, files: files)
        #expect(recorded.retired.count == 1)
        let record = files.recorded
        #expect(record.directories[directory.retired]?.count == 1, "the retired keys' listing is part of it")

        // rotate-key runs again and the keys directory goes away: the replay still has them all.
        _ = try KeyRotation.rotate(directory.tokens, now: t0 + 2)
        try FileManager.default.removeItem(atPath: directory.keys)
        let replayed = try KeySet.load(directory.tokens, now: t0 + 3, files: KeyFiles(replaying: record))
        #expect(replayed.accessSigner.kid == recorded.accessSigner.kid)
        #expect(Set(replayed.accessVerifiers.keys) == Set(recorded.accessVerifiers.keys))
        #expect(replayed.refreshKey.kid == recorded.refreshKey.kid)
        let token = try TokenService(keys: replayed).mint(claims(exp: t0 + 60))
        #expect((try? TokenService(keys: recorded).verify(token, expecting: .access, now: t0 + 4).get())?.userID == "42")

        // A file the record does not hold is unreadable, named.
        var partial = record
        partial.files[directory.tokens.refreshSecret] = nil
        #expect(throws: SigningKeyError.self) { try KeySet.load(directory.tokens, now: t0 + 3, files: KeyFiles(replaying: partial)) }
    }
}
