import Foundation

/// One mailbox as written in `mail.from` or a recipient: `addr@example.com` or
/// `Display Name <addr@example.com>`. Only the bare address goes to the SMTP envelope; the display
/// name goes, encoded, into the header.
public struct MailAddress: Sendable, Equatable {
    public var displayName: String?
    public var address: String

    /// nil for anything that is not one plain ASCII address: no line breaks, spaces, angle brackets
    /// or control characters can reach an SMTP command or a header through it.
    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var name: String?
        var address = trimmed
        if trimmed.hasSuffix(">"), let open = trimmed.lastIndex(of: "<") {
            address = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            var phrase = trimmed[..<open].trimmingCharacters(in: .whitespaces)
            if phrase.count >= 2, phrase.hasPrefix("\""), phrase.hasSuffix("\"") {
                phrase = String(phrase.dropFirst().dropLast())
            }
            name = phrase.isEmpty ? nil : phrase
        }
        guard Self.isPlainAddress(address), name?.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) ?? true else {
            return nil
        }
        self.displayName = name
        self.address = address
    }

    /// The part after the last `@`.
    public var domain: String { address.split(separator: "@").last.map(String.init) ?? "localhost" }

    private static func isPlainAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, text.utf8.count <= 254 else { return false }
        return text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") }
    }
}
