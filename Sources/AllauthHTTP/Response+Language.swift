import AllauthCore
import AllauthDomain
import FastCGI
import HTTPTypes

extension Response {
    /// Puts a JSON answer's messages into `catalog`'s language and says which language it is in.
    /// This is the one place API text is translated, so handlers (and the code of every branch)
    /// keep writing English: an error's `detail` and its field messages (at any depth, as
    /// `{"field": ["…"]}` or nested serializer errors), and a success answer's `detail`. Machine
    /// `code`s and every other value stay as they are.
    /// `contentLanguage`: the catalog's `Content-Language` field, made once per language by the
    /// service (the `[.contentLanguage]` setter checked its value at every request).
    mutating func localize(_ catalog: Catalog, contentLanguage: HTTPField) {
        headerFields[fields: .contentLanguage] = [contentLanguage]
        let isError = status.code >= 400
        // A success answer is read only when it has a `detail` (a refresh answer, on the hot path, has none).
        guard catalog.code != "en", headerFields[.contentType] == "application/json",
              isError || body.firstRange(of: Self.detailKey) != nil,
              let body = try? JSON.parse(body), case .object(let members) = body else { return }
        var changed = false
        let translated = JSON.object(members.map { key, value in
            guard key != "code", isError || key == "detail" else { return (key, value) }
            let result = Self.translateMessages(value, catalog)
            if result != value { changed = true }
            return (key, result)
        })
        if changed { self.body = translated.encoded() }
    }

    private static let detailKey = Array(#""detail""#.utf8)

    private static func translateMessages(_ value: JSON, _ catalog: Catalog) -> JSON {
        switch value {
        case .string(let text): return .string(catalog.translate(text))
        case .array(let items): return .array(items.map { translateMessages($0, catalog) })
        case .object(let members): return .object(members.map { ($0.0, $0.0 == "code" ? $0.1 : translateMessages($0.1, catalog)) })
        default: return value
        }
    }
}
