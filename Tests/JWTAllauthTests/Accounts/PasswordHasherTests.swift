import Testing
@testable import AllauthDomain
@testable import AllauthRuntime

/// Django `pbkdf2_sha256` compatibility; the expected hashes were computed with Python's hashlib.
struct PasswordHasherTests {
    @Test func verifiesDjangoHashes() {
        let hasher = PasswordHasher(iterations: 1000)
        #expect(hasher.verify("lètmein", against: "pbkdf2_sha256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=") == .match)
        #expect(hasher.verify("letmein", against: "pbkdf2_sha256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=") == .mismatch)
    }

    @Test func fewerStoredIterationsThanConfiguredAsksForARehash() {
        let hasher = PasswordHasher(iterations: 1_000_000)
        let django = "pbkdf2_sha256$260000$AbCdEfGh12345678$9WuNWjYkQdZ/fYys+bPliFs0eDdHUBU9iuR++drSsdU="
        #expect(hasher.verify("Val1dPasw0rd", against: django) == .matchNeedsRehash)
        #expect(PasswordHasher(iterations: 260_000).verify("Val1dPasw0rd", against: django) == .match)
    }

    @Test func moreStoredIterationsThanConfiguredAsksForARehashToo() {
        let django = "pbkdf2_sha256$260000$AbCdEfGh12345678$9WuNWjYkQdZ/fYys+bPliFs0eDdHUBU9iuR++drSsdU="
        #expect(PasswordHasher(iterations: 100_000).verify("Val1dPasw0rd", against: django) == .matchNeedsRehash, "down as well as up")
        #expect(PasswordHasher(iterations: 100_000).verify("Val1dPasw0rd", against: django, failureCost: 900_000) == .matchNeedsRehash)
        #expect(PasswordHasher(iterations: 100_000).verify("wrong", against: django, failureCost: 260_000) == .mismatch)
    }

    @Test func roundsAreReadOnlyFromHashesTheHasherChecks() {
        #expect(PasswordHasher.rounds(of: "pbkdf2_sha256$260000$AbCdEfGh12345678$9WuNWjYkQdZ/fYys+bPliFs0eDdHUBU9iuR++drSsdU=") == 260_000)
        #expect(PasswordHasher.rounds(of: "pbkdf2_sha256$260000$salt$hash") == nil, "not a digest Django writes")
        #expect(PasswordHasher.rounds(of: "pbkdf2_sha1$260000$salt$SwB5AbdlSJq+rUnZJvch0GWkKcE=") == nil, "another hasher")
        #expect(PasswordHasher.rounds(of: PasswordHasher.unusable()) == nil)
        #expect(PasswordHasher.rounds(of: "argon2$argon2id$v=19$m=102400,t=2,p=8$salt$hash") == nil)
        #expect(PasswordHasher.rounds(of: "pbkdf2_sha256$0$salt$hash") == nil)
        #expect(PasswordHasher.rounds(of: "pbkdf2_sha256$100000001$salt$hash") == nil)
    }

    @Test func hashesInDjangoFormatWithARandomSalt() {
        let hasher = PasswordHasher(iterations: 1000)
        let a = hasher.hash("secret"), b = hasher.hash("secret")
        #expect(a != b)
        let parts = a.split(separator: "$")
        #expect(parts.count == 4 && parts[0] == "pbkdf2_sha256" && parts[1] == "1000" && parts[2].count == 22)
        #expect(hasher.verify("secret", against: a) == .match)
    }

    @Test func unusableAndForeignHashesNeverMatch() {
        let hasher = PasswordHasher(iterations: 1000)
        #expect(hasher.verify("", against: PasswordHasher.unusable()) == .mismatch)
        #expect(hasher.verify("x", against: "argon2$whatever") == .mismatch)
        #expect(hasher.verify("x", against: "pbkdf2_sha256$0$salt$hash") == .mismatch)
    }

    @Test func constantTimeComparison() {
        #expect(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEquals([1, 2], [1, 2, 3]))
    }

    @Test func userAgentsParseLikeTheReference() {
        let mac = UserAgentInfo.parse("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.114 Safari/537.36")
        #expect(mac.browser == "Chrome" && mac.browserVersion == "91.0.4472" && mac.os == "Mac OS X" && mac.osVersion == "10.15.7")
        #expect(mac.device == "Mac" && mac.deviceBrand == "Apple" && mac.isPC && !mac.isMobile)
        let iphone = UserAgentInfo.parse("Mozilla/5.0 (iPhone; CPU iPhone OS 14_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.1.1 Mobile/15E148 Safari/604.1")
        #expect(iphone.browser == "Mobile Safari" && iphone.browserVersion == "14.1.1" && iphone.os == "iOS" && iphone.osVersion == "14.6")
        #expect(iphone.device == "iPhone" && iphone.isMobile && !iphone.isPC)
        let windows = UserAgentInfo.parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36")
        #expect(windows.browser == "Chrome" && windows.browserVersion == "91.0.4472" && windows.os == "Windows" && windows.osVersion == "10")
        #expect(windows.device == "Other" && windows.isPC)
        #expect(UserAgentInfo.parse(nil).browser == "Other")
    }
}
