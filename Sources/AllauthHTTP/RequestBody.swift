import AllauthCore
import FastCGI
import Foundation
import HTTPTypes

/// The fields of a request body, decoded from JSON or a form, with the reference's (DRF's) field
/// validation messages. Collects every field error, then `validate()` throws them together.
struct RequestBody {
    private let members: [(String, JSON)]
    private(set) var errors: [(field: String, messages: [String])] = []

    /// Decodes the body. An empty body is an empty object, as in DRF.
    init(_ request: Request) throws(APIError) {
        let contentType = (request.headerFields[.contentType] ?? "").split(separator: ";").first
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        if request.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            members = []
            return
        }
        switch contentType {
        case "application/x-www-form-urlencoded":
            members = RequestBody.form(request.body)
        // JSON only when declared as JSON: a cross-site HTML form can send text/plain (or no
        // type) without a CORS preflight, never application/json. DRF answers 415 as well.
        case "application/json":
            let value: JSON
            do {
                value = try JSON.parse(request.body)
            } catch {
                throw .parseError(error.message)
            }
            guard case .object(let object) = value else {
                let message = "Invalid data. Expected a dictionary, but got \(RequestBody.typeName(value))."
                throw .validation([("non_field_errors", [message])])
            }
            members = object
        default:
            throw .unsupportedMediaType(contentType)
        }
    }

    private static func typeName(_ value: JSON) -> String {
        switch value {
        case .array: return "list"
        case .string: return "str"
        case .number(let n): return n.rounded() == n ? "int" : "float"
        case .bool: return "bool"
        case .null: return "NoneType"
        case .object: return "dict"
        }
    }

    private static func form(_ body: [UInt8]) -> [(String, JSON)] {
        var pairs: [(String, JSON)] = []
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            let name = decode(parts[0])
            if pairs.contains(where: { $0.0 == name }) { continue }
            pairs.append((name, .string(parts.count > 1 ? decode(parts[1]) : "")))
        }
        return pairs
    }

    subscript(name: String) -> JSON? { members.first { $0.0 == name }?.1 }

    mutating func fail(_ field: String, _ message: String) {
        if let index = errors.firstIndex(where: { $0.field == field }) {
            errors[index].messages.append(message)
        } else {
            errors.append((field, [message]))
        }
    }

    /// A string field, trimmed. Records "required", "blank", "not a valid string" and length errors.
    /// Returns nil when absent-and-optional or invalid.
    mutating func string(_ name: String, required: Bool = true, allowBlank: Bool = false, maxLength: Int? = nil) -> String? {
        guard let value = self[name], value != .null else {
            if required { fail(name, self[name] == .null ? "This field may not be null." : "This field is required.") }
            return nil
        }
        let text: String
        switch value {
        case .string(let s): text = s.trimmingCharacters(in: .whitespacesAndNewlines)
        // DRF's CharField accepts numbers and turns them into text; booleans and containers it refuses.
        case .number: text = value.encodedString()
        default:
            fail(name, "Not a valid string.")
            return nil
        }
        if text.isEmpty && !allowBlank {
            fail(name, "This field may not be blank.")
            return nil
        }
        if let maxLength, text.count > maxLength {
            fail(name, "Ensure this field has no more than \(maxLength) characters.")
            return nil
        }
        return text
    }

    /// A string field that must be plain text (`PlainText`): e-mail addresses and names.
    mutating func plainText(_ name: String, required: Bool = true, allowBlank: Bool = false, maxLength: Int? = nil) -> String? {
        guard let text = string(name, required: required, allowBlank: allowBlank, maxLength: maxLength) else { return nil }
        if let problem = PlainText.problem(in: text) {
            fail(name, problem)
            return nil
        }
        return text
    }

    /// Throws the collected field errors, if any.
    func validate() throws(APIError) {
        if !errors.isEmpty { throw .validation(errors) }
    }
}
