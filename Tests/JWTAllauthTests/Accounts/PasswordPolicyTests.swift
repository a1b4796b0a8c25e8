import Foundation
import Testing
@testable import AllauthDomain

/// Django's four standard validators: the same verdicts and messages as the reference.
struct PasswordPolicyTests {
    static let shipped = try! PasswordPolicy.commonPasswords(in: URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent())
    let policy = PasswordPolicy(minLength: 8, commonPasswords: PasswordPolicyTests.shipped)

    @Test func theShippedListIsDjangosTwentyThousandCommonPasswords() {
        #expect(Self.shipped.count > 19_000)
        #expect(Self.shipped.isSuperset(of: ["password", "123456", "qwerty", "#1bitch"]))
    }

    @Test func quickRatioMatchesPythonsDifflib() {
        // Values printed by CPython's difflib.SequenceMatcher(a=, b=).quick_ratio().
        func ratio(_ a: String, _ b: String) -> Double { PasswordPolicy.quickRatio(Array(a.unicodeScalars), Array(b.unicodeScalars)) }
        #expect(ratio("abcd", "bcde") == 0.75)
        #expect(ratio("password", "drowssap") == 1.0)
        #expect(abs(ratio("ñandú1234", "ñandú") - 0.7142857142857143) < 1e-12)
        #expect(ratio("hopper1234", "hopper") == 0.75)
    }

    @Test func everyBrokenRuleIsReportedInDjangosOrder() {
        #expect(policy.problems("Val1dPasw0rd!", similarTo: nil).isEmpty)
        #expect(policy.problems("1234", similarTo: nil) == [
            "This password is too short. It must contain at least 8 characters.",
            "This password is too common.",
            "This password is entirely numeric.",
        ])
        #expect(policy.problems(" PassWord ", similarTo: nil) == ["This password is too common."], "lower-cased and trimmed like Django")
        #expect(PasswordPolicy(minLength: 1, commonPasswords: []).problems("", similarTo: nil)
                == ["This password is too short. It must contain at least 1 character."])
        #expect(policy.problems("٣٤٥٦٧٨٩٠١٢", similarTo: nil) == ["This password is entirely numeric."], "any script's digits")
    }

    @Test func similarityLooksAtTheAddressItsPartsAndTheNames() {
        let ada = PasswordPolicy.Attributes(email: "ada.lovelace@example.com", firstName: "Ada", lastName: "Lovelace")
        #expect(policy.problems("lovelace99", similarTo: ada) == ["The password is too similar to the last name."], "names first, as Django")
        #expect(policy.problems("example.com1", similarTo: ada) == ["The password is too similar to the email address."])
        #expect(policy.problems("ADA.LOVELACE@example.com", similarTo: ada).first == "The password is too similar to the email address.")
        #expect(policy.problems("Lovelace-Byron-1815", similarTo: ada).isEmpty, "long enough to differ")
        let hopper = PasswordPolicy.Attributes(email: "gh@navy.mil", firstName: "Grace", lastName: "Hopper")
        #expect(policy.problems("Hopper1234", similarTo: hopper) == ["The password is too similar to the last name."])
        // Django skips values ten times shorter than the password: they cannot reach 0.7.
        #expect(policy.problems("ab" + String(repeating: "x", count: 40), similarTo: PasswordPolicy.Attributes(email: "ab@cd.ef")).isEmpty)
    }
}
