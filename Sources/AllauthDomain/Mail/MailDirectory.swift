import Foundation

/// The `.eml` files `DirectoryTransport` writes (`mail.transport: directory`, the local instance's
/// mail catcher), read back for `jwt-allauth mail --last-link`: where a person trying the service
/// out finds the confirmation or reset link a mail program would show.
package struct MailDirectory {
    let directory: URL

    package init(path: String) {
        directory = URL(fileURLWithPath: path)
    }

    /// The first link in the text of the newest mail to `address` that carries one: newest by its
    /// Date header, then (a second's ties) by the file's modification time. Addresses compare
    /// case-insensitively. nil when no mail to that address has a link.
    package func lastLink(to address: String) throws -> String? {
        let wanted = address.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: [.contentModificationDateKey])
            .filter { $0.pathExtension == "eml" && !$0.lastPathComponent.hasPrefix(".") }
        var newest: (date: Int64, modified: Date, link: String)?
        for file in files {
            guard let data = FileManager.default.contents(atPath: file.path),
                  let mail = DeliveredMail(String(decoding: data, as: UTF8.self)),
                  mail.recipient == wanted, let link = mail.links.first
            else { continue }
            let modified = (try? file.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? .distantPast
            let date = mail.date ?? Int64(modified.timeIntervalSince1970)
            if newest.map({ ($0.date, $0.modified) < (date, modified) }) ?? true { newest = (date, modified, link) }
        }
        return newest?.link
    }
}

/// One delivered mail, parsed as far as `MailDirectory` needs: its recipient, its Date and the
/// decoded text part (quoted-printable, base64 or plain), as `MIMEMessage` writes them.
struct DeliveredMail {
    /// The `To` address, lower-cased.
    var recipient: String
    /// The Date header in seconds, when it parses.
    var date: Int64?
    var text: String

    init?(_ raw: String) {
        let (headers, body) = Self.split(raw.replacingOccurrences(of: "\r\n", with: "\n"))
        guard let to = headers["to"], let address = MailAddress(to)?.address else { return nil }
        recipient = address.lowercased()
        date = headers["date"].flatMap(Self.seconds)
        let contentType = headers["content-type"] ?? "text/plain"
        if contentType.lowercased().hasPrefix("multipart/") {
            guard let boundary = Self.parameter("boundary", of: contentType) else { return nil }
            let parts = body.components(separatedBy: "--\(boundary)").dropFirst().map { Self.split(String($0.drop { $0 == "\n" })) }
            guard let plain = parts.first(where: { ($0.headers["content-type"] ?? "").lowercased().hasPrefix("text/plain") }) else { return nil }
            text = Self.decode(plain.body, encoding: plain.headers["content-transfer-encoding"])
        } else {
            text = Self.decode(body, encoding: headers["content-transfer-encoding"])
        }
    }

    /// Every http(s) URL of the text, in order.
    var links: [String] {
        text.split(whereSeparator: { $0.isWhitespace || "<>\"'".contains($0) }).compactMap { word in
            guard let start = word.range(of: "https://") ?? word.range(of: "http://") else { return nil }
            return String(word[start.lowerBound...])
        }
    }

    /// Unfolded headers by lower-cased name (the first of each), and the body after the blank line.
    private static func split(_ text: String) -> (headers: [String: String], body: String) {
        let end = text.range(of: "\n\n")
        var headers: [String: String] = [:]
        var last: String?
        for line in text[..<(end?.lowerBound ?? text.endIndex)].split(separator: "\n") {
            if line.first == " " || line.first == "\t", let name = last {
                headers[name, default: ""] += " " + line.trimmingCharacters(in: .whitespaces)
            } else if let colon = line.firstIndex(of: ":") {
                let name = line[..<colon].lowercased()
                last = headers[name] == nil ? name : nil
                if last != nil { headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
            }
        }
        return (headers, end.map { String(text[$0.upperBound...]) } ?? "")
    }

    /// A parameter of a header value (`boundary` of a Content-Type), unquoted.
    static func parameter(_ name: String, of value: String) -> String? {
        for piece in value.split(separator: ";") {
            let pair = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == name { return pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        }
        return nil
    }

    /// A part's body by its Content-Transfer-Encoding.
    static func decode(_ body: String, encoding: String?) -> String {
        switch encoding?.lowercased() {
        case "quoted-printable": return decodeQuotedPrintable(body)
        case "base64": return String(decoding: Data(base64Encoded: body.filter { !$0.isWhitespace }) ?? Data(), as: UTF8.self)
        default: return body
        }
    }

    /// RFC 2045 §6.7: `=` at a line's end joins it to the next; `=XX` is a byte.
    static func decodeQuotedPrintable(_ text: String) -> String {
        let input = Array(text.replacingOccurrences(of: "=\r\n", with: "").replacingOccurrences(of: "=\n", with: "").utf8)
        var bytes: [UInt8] = []
        var index = 0
        while index < input.count {
            if input[index] == UInt8(ascii: "="), index + 2 < input.count,
               let byte = UInt8(String(decoding: input[(index + 1)...(index + 2)], as: UTF8.self), radix: 16) {
                bytes.append(byte)
                index += 3
            } else {
                bytes.append(input[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `Tue, 08 Dec 2026 09:00:00 +0000` (`HTTPDate.rfc5322`) in seconds.
    private static func seconds(_ value: String) -> Int64? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.date(from: value).map { Int64($0.timeIntervalSince1970) }
    }
}
