import AllauthDomain
import ArgumentParser
import Foundation

/// `jwt-allauth rotate-key`: a new access-token signing key (`KeyRotation`), then the one step left
/// to the sysadmin, the reload.
struct RotateKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key",
        abstract: "Replace the access-token signing key; the old one verifies the tokens it signed until they expire.",
        discussion: """
            Writes a new key of the configured algorithm over tokens.signing_key (same owner, mode 0600) and keeps \
            the old public key (HS256: the old secret) in retired/ beside it, named by its retirement time and kid. \
            It verifies tokens for tokens.access_lifetime plus tokens.retired_key_leeway, then nothing; the next \
            rotate-key deletes it. The refresh secret and the MFA key are not touched. Then reload the service \
            (systemctl reload jwt-allauth): the new workers sign with the new key.
            """)
    @OptionGroup var options: ConfigOption
    @Flag(help: "The current key leaked: do not keep it; every access token it signed is refused after the reload (clients refresh).")
    var compromised = false

    func run() throws {
        let config = try options.load()
        let outcome = try KeyRotation.rotate(config.tokens, keepRetired: !compromised)
        let tokens = config.tokens
        print("new signing key: \(tokens.signingKey) (\(tokens.algorithm.rawValue), kid \(outcome.newKid))")
        if let file = outcome.retiredFile, let until = outcome.verifiesUntil {
            print("retired key: kid \(outcome.retiredKid), kept in \(file); it verifies tokens that expire by "
                  + "\(Self.utc(until)) (access_lifetime + retired_key_leeway from now), then nothing")
        } else {
            print("old key: kid \(outcome.retiredKid), not kept; the tokens it signed are refused once the service reloads")
        }
        if let publicKey = outcome.publicKey { print("public key: \(publicKey) rewritten") }
        if outcome.oldKeyWasShared {
            print("warning: the old key's file was readable by other users (the new one is 0600); if it may have been copied, "
                  + (outcome.retiredFile.map { "delete \($0) and reload: its tokens are then refused" } ?? "its tokens are refused after the reload"))
        }
        for file in outcome.removed { print("removed: \(file) (past its deadline)") }
        print("unchanged: \(tokens.refreshSecret) (refresh tokens), \(config.mfa.secretKey) (TOTP secrets)")
        print("next: systemctl reload jwt-allauth (SIGHUP to the master), now; on several hosts, first copy "
              + "\(URL(fileURLWithPath: tokens.signingKey).deletingLastPathComponent().path)/ to each, then reload them all")
    }

    private static func utc(_ time: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(time)))
    }
}
