import Foundation
import Testing
@testable import AllauthRuntime

/// Each of Django's hashers checked against known vectors: the algorithms' own (RFC 6070 for
/// PBKDF2-SHA1, RFC 7914 for scrypt, the Argon2 reference's, crypt_blowfish's), and hashes
/// Django 5.2.19 wrote with `make_password` (argon2-cffi 25.1.0, bcrypt 5.0.0) at its defaults.
struct DjangoPasswordHashTests {
    static let djangoPassword = "Pässwörd-ütf8 ✓"
    /// `make_password(djangoPassword, hasher=…)`; argon2i from an `Argon2PasswordHasher` whose
    /// `params()` asks for `Type.I`, as Django's argon2 hashes were before 3.2.
    static let django = [
        "pbkdf2_sha256$1000000$5fxQILxW3JB1tu7Qq1HU1p$in/whkOUTYGP5qChQNR+r0S/3HFLhe8fWLbuqSj2P94=",
        "pbkdf2_sha1$1000000$SgiUCLZ4r1ubPsOGQempDc$B5khETpTy0UcVMzXdr8pDnhFB1Y=",
        "argon2$argon2id$v=19$m=102400,t=2,p=8$d2JkbGlNTUs3MGQ5OEp4MnZhMGtISg$P7fW5gKX1rlGsd5OLYThxDpxMSLnoZ4tRkazpzak2+I",
        "argon2$argon2i$v=19$m=102400,t=2,p=8$TmxoV01sM3ljYTE2dTFOdURjdHoyTg$lNYEZ9gVxZEHSOVEWGYDpS9uol0GjZL7WBNowWZF2C8",
        "bcrypt_sha256$$2b$12$//uM3EqhkLOa.Jt51apho.ZxUqnz3UKGTGN5bOOPMlK8ON5IO4zT6",
        "bcrypt$$2b$12$nsTJprYAK5/3A6PVzMBbyuE5UGwcmbBTZIRkDJMKhOZhqDEC4LcKG",
        "scrypt$16384$ueU0ljnQBUv4A1Iw2NKPag$8$5$6bfXL7DW1h9eVxT2dvS73ArLbVuvdzkHK1z0jfV1gthpmvbA67sxqSuF1tTMISpXwV7kmZ2MClPs4L6dI7NJtg==",
    ]

    @Test(arguments: django)
    func djangosOwnHashesVerify(_ encoded: String) throws {
        let stored = try DjangoPasswordHashes.decode(encoded)
        #expect(stored.algorithm == DjangoPasswordHashes.hasherName(of: encoded))
        #expect(stored.matches(Self.djangoPassword))
        #expect(!stored.matches("Pässwörd-ütf8 ✗"))
        #expect(!stored.matches(""))
    }

    @Test func algorithmsOwnVectorsVerify() throws {
        let vectors = [
            // RFC 6070: PBKDF2-HMAC-SHA1, "password", "salt", 4096 rounds.
            "pbkdf2_sha1$4096$salt$SwB5AbdlSJq+rUnZJvch0GWkKcE=",
            // RFC 7914 §12: scrypt("password", "NaCl", N=1024, r=8, p=16, 64 bytes).
            "scrypt$1024$NaCl$8$16$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA==",
            // The Argon2 reference implementation's tests: "password", "somesalt", t=2, m=2^16, p=1,
            // argon2id at version 0x13 and argon2i at 0x10 (whose PHC string has no v= field).
            "argon2$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "argon2$argon2i$m=65536,t=2,p=1$c29tZXNhbHQ$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ",
            "argon2$argon2i$v=16$m=65536,t=2,p=1$c29tZXNhbHQ$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ",
        ]
        for encoded in vectors {
            #expect(try DjangoPasswordHashes.decode(encoded).matches("password"), "\(encoded)")
            #expect(try !DjangoPasswordHashes.decode(encoded).matches("passwore"), "\(encoded)")
        }
        // crypt_blowfish's own test vector, at `$2a$`.
        #expect(try DjangoPasswordHashes.decode("bcrypt$$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW").matches("U*U"))
    }

    @Test func bcryptReadsSeventyTwoBytesAndBcryptSHA256TheWholePassword() throws {
        let long = String(repeating: "x", count: 100)
        // Django with bcrypt < 5 cut long passwords at 72 bytes (bcrypt 5 refuses them): this one hashed long.prefix(72).
        let plain = try DjangoPasswordHashes.decode("bcrypt$$2b$12$/Erh8C3a82SCtnF48RU1w.Lkj8ZjVlZqn66nqpxL.yf/Lono.W1iq")
        #expect(plain.matches(long) && plain.matches(String(long.prefix(72))))
        #expect(!plain.matches("x\u{0}" + long), "a NUL would cut the C string short")
        let prehashed = try DjangoPasswordHashes.decode("bcrypt_sha256$$2b$12$Mzq.pqtuGlj7nj8pxzNPG.6zl0AdYRLrobsoj/5E7XsFhatioenke")
        #expect(prehashed.matches(long))
        #expect(!prehashed.matches(String(long.prefix(72))))
    }

    @Test func aTamperedHashNeverMatches() throws {
        for encoded in Self.django {
            // One character of the digest changed, as an attacker with write access to the source table might.
            var characters = Array(encoded)
            let index = characters.count - 3
            characters[index] = characters[index] == "A" ? "B" : "A"
            let tampered = String(characters)
            if let stored = try? DjangoPasswordHashes.decode(tampered) {
                #expect(!stored.matches(Self.djangoPassword), "\(tampered)")
            }
            // Parameters changed (a cheaper hash for the same digest): the digest no longer matches.
            let cheaper = encoded.replacingOccurrences(of: "$12$", with: "$11$").replacingOccurrences(of: "t=2", with: "t=1")
                .replacingOccurrences(of: "$1000000$", with: "$999999$").replacingOccurrences(of: "$16384$", with: "$8192$")
            #expect(try !DjangoPasswordHashes.decode(cheaper).matches(Self.djangoPassword), "\(cheaper)")
        }
    }

    @Test func malformedAndUnknownHashesAreRefusedWithTheirHasher() {
        func refusal(_ encoded: String) -> UncheckableHash? {
            do throws(UncheckableHash) { _ = try DjangoPasswordHashes.decode(encoded); return nil } catch { return error }
        }
        #expect(refusal("!abc") == .unusable)
        #expect(refusal("md5$salt$0123456789abcdef0123456789abcdef") == .unknownHasher("md5"))
        #expect(refusal("0123456789abcdef0123456789abcdef") == .unknownHasher("unsalted_md5"))
        #expect(refusal("sha1$$0123456789abcdef0123456789abcdef01234567") == .unknownHasher("unsalted_sha1"))
        #expect(refusal("") == .unknownHasher("(none)"))
        for malformed in [
            "argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdHNhbHQ", "argon2$argon2x$v=19$m=1024,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "argon2$argon2id$v=20$m=1024,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "argon2$argon2id$v=19$t=2,m=1024,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "argon2$argon2id$v=19$m=+1024,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "argon2$argon2id$v=19$m=1024,t=0,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "argon2$argon2id$v=19$m=8,t=1,p=2$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "argon2$argon2id$v=19$m=1024,t=2,p=1$c29t$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "argon2$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHQ$!!!!",
            "bcrypt$$2b$12$nsTJprYAK5/3A6PVzMBbyuE5UGwcmbBTZIRkDJMKhOZhqDEC4LcK", "bcrypt$$2x$12$nsTJprYAK5/3A6PVzMBbyuE5UGwcmbBTZIRkDJMKhOZhqDEC4LcKG",
            "bcrypt$$2b$03$nsTJprYAK5/3A6PVzMBbyuE5UGwcmbBTZIRkDJMKhOZhqDEC4LcKG", "bcrypt$2b$12$nsTJprYAK5/3A6PVzMBbyuE5UGwcmbBTZIRkDJMKhOZhqDEC4LcKG",
            "bcrypt_sha256$$2b$12$nsTJprYAK5/3A6PVzMBbyuE5UGwcmbBTZIRkDJMKhOZhqDEC4LcK!",
            "scrypt$16383$salt$8$5$6bfXL7DW1h9eVxT2dvS73ArLbVuvdzkHK1z0jfV1gthpmvbA67sxqSuF1tTMISpXwV7kmZ2MClPs4L6dI7NJtg==",
            "scrypt$16384$$8$5$6bfXL7DW1h9eVxT2dvS73ArLbVuvdzkHK1z0jfV1gthpmvbA67sxqSuF1tTMISpXwV7kmZ2MClPs4L6dI7NJtg==",
            "scrypt$16384$salt$0$5$6bfXL7DW1h9eVxT2dvS73ArLbVuvdzkHK1z0jfV1gthpmvbA67sxqSuF1tTMISpXwV7kmZ2MClPs4L6dI7NJtg==",
            "scrypt$16384$salt$8$5$c2hvcnQ=",
            "pbkdf2_sha256$1000$salt$c2hvcnQ=", "pbkdf2_sha256$1000$$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=",
            "pbkdf2_sha256$-5$salt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=", "pbkdf2_sha1$1000$salt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=",
        ] {
            let hasher = DjangoPasswordHashes.hasherName(of: malformed)
            #expect(refusal(malformed) == .malformed(hasher: hasher), "\(malformed)")
        }
    }

    /// A hostile row (an import from a tampered database, or one written straight into the users
    /// table) must not make a login allocate gigabytes or run for minutes: past the caps a hash is
    /// refused before any work, like an unknown one.
    @Test func parametersPastTheCapsAreRefusedBeforeAnyWork() throws {
        let salt = "c29tZXNhbHQ", digest = "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
        for hostile in [
            "argon2$argon2id$v=19$m=4194304,t=1,p=1$\(salt)$\(digest)",          // 4 GiB
            "argon2$argon2id$v=19$m=262145,t=1,p=1$\(salt)$\(digest)",           // one KiB over 256 MiB
            "argon2$argon2id$v=19$m=262144,t=9,p=1$\(salt)$\(digest)",           // 9 passes over 256 MiB
            "argon2$argon2id$v=19$m=65536,t=4294967295,p=1$\(salt)$\(digest)",
            "argon2$argon2id$v=19$m=65536,t=1,p=4096$\(salt)$\(digest)",
            "bcrypt$$2b$17$nsTJprYAK5/3A6PVzMBbyuE5UGwcmbBTZIRkDJMKhOZhqDEC4LcKG",
            "bcrypt_sha256$$2b$31$nsTJprYAK5/3A6PVzMBbyuE5UGwcmbBTZIRkDJMKhOZhqDEC4LcKG",
            "scrypt$4194304$salt$8$1$\(digest)",                                 // 4 GiB
            "scrypt$2147483648$salt$4294967295$4294967295$\(digest)",            // products past 2^64
            "scrypt$1048576$salt$2$5$\(digest)",                                 // 256 MiB five times over
            "scrypt$2$salt$1$4194304$\(digest)",                                 // 512 MiB of p blocks, not of N
            "pbkdf2_sha256$100000001$salt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=",
        ] {
            let started = ContinuousClock.now
            do throws(UncheckableHash) {
                _ = try DjangoPasswordHashes.decode(hostile)
                Issue.record("decoded \(hostile)")
            } catch {
                guard case .beyondCaps(let hasher, let reason) = error else { Issue.record("\(hostile): \(error)"); continue }
                #expect(hasher == DjangoPasswordHashes.hasherName(of: hostile) && !reason.isEmpty)
            }
            #expect(started.duration(to: .now) < .milliseconds(50), "refused without hashing")
            // And what login makes of it: a mismatch that costs the configured rounds, no more.
            let hasher = PasswordHasher(iterations: 1000)
            #expect(hasher.verify("password", against: hostile) == .mismatch)
        }
        // At the caps exactly, still checked.
        #expect(try DjangoPasswordHashes.decode("argon2$argon2id$v=19$m=262144,t=8,p=1$\(salt)$\(digest)").cost > 0)
        #expect(try DjangoPasswordHashes.decode("scrypt$524288$salt$2$8$\(digest)").cost > 0)
        #expect(try DjangoPasswordHashes.decode("scrypt$131072$salt$8$8$\(digest)").cost > 0)
        #expect(try DjangoPasswordHashes.decode("bcrypt$$2b$16$nsTJprYAK5/3A6PVzMBbyuE5UGwcmbBTZIRkDJMKhOZhqDEC4LcKG").cost > 0)
    }

    @Test func costsAreEstimatedOnTheHighSide() throws {
        // Django's defaults each took about as long as 1,000,000 PBKDF2 rounds where measured (HashCosts).
        for encoded in Self.django.dropFirst() {
            let cost = try DjangoPasswordHashes.decode(encoded).cost
            #expect((1_000_000...2_000_000).contains(cost), "\(encoded.prefix(24)): \(cost)")
        }
        #expect(PasswordHasher.cost(of: Self.django[0]) == 1_000_000)
        #expect(PasswordHasher.cost(of: "md5$salt$hash") == nil && PasswordHasher.cost(of: PasswordHasher.unusable()) == nil)
    }

    @Test(arguments: django.dropFirst())
    func anotherHashersRightPasswordAsksForTheConfiguredOne(_ encoded: String) {
        let hasher = PasswordHasher(iterations: 1000)
        #expect(hasher.verify(Self.djangoPassword, against: encoded) == .matchNeedsRehash)
        #expect(hasher.verify("wrong", against: encoded) == .mismatch)
    }

    /// A wrong password on a cheap foreign hash is padded with PBKDF2 to the failure cost, so it
    /// answers no faster than an unknown address (`verifyNothing` at the same cost). Measured in
    /// turns, medians of five, since other suites share the cores.
    @Test func aFailureOnAnotherHasherCostsTheFailureCostInTime() {
        let hasher = PasswordHasher(iterations: 1000)
        let cheap = "argon2$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
        let cost = 400_000
        func timed(_ work: () -> Void) -> Duration {
            let started = ContinuousClock.now
            work()
            return started.duration(to: .now)
        }
        var nothing: [Duration] = [], foreign: [Duration] = []
        for _ in 0..<5 {
            nothing.append(timed { hasher.verifyNothing("wrong", failureCost: cost) })
            foreign.append(timed { _ = hasher.verify("wrong", against: cheap, failureCost: cost) })
        }
        let (unknown, padded) = (nothing.sorted()[2], foreign.sorted()[2])
        #expect(padded > unknown * 0.75, "a foreign failure \(padded), an unknown address \(unknown)")
        #expect(padded < unknown * 1.35, "a foreign failure \(padded), an unknown address \(unknown)")
    }
}
