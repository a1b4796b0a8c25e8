import AllauthRuntime
import Foundation
import Mustache

/// Every mail and page template, loaded and checked once at startup: the shipped `Templates/`
/// directory, where a file of the same name in the deployment's override directory
/// (`templates.directory`) replaces the shipped one. Rendering is swift-mustache's, which
/// HTML-escapes `{{value}}` by default; subjects and text bodies are rendered as plain text.
public final class TemplateLibrary: Sendable {
    private let library: MustacheLibrary
    /// Name (`confirmation.html`) → the file it was read from, to name it in errors.
    private let files: [String: String]
    /// The catalogs of `Templates/locale/`: templates mark their text `{{#t}}…{{/t}}`, and the API
    /// translates its answers with them. One set of templates with translated text, rather than a
    /// set per language: an override (`templates.directory`) then changes every language at once,
    /// and translators work on `.po` files with their own tools instead of on markup.
    public let translations: Translations

    /// Loads the shipped templates and the overrides, then renders every template once with
    /// sample data. Throws a `TemplateError` naming the file: a missing override directory, an
    /// override that replaces nothing, a parse error, a template that renders empty or without its link.
    public init(shareDirectory: URL, overrideDirectory: String?, defaultLanguage: String = "en") throws {
        let shipped = shareDirectory.appendingPathComponent("Templates").path
        translations = try Translations(directory: "\(shipped)/locale", defaultLanguage: defaultLanguage)
        var files = try Self.templateFiles(in: shipped)
        for name in Self.requiredNames where files[name] == nil {
            throw TemplateError(file: "\(shipped)/\(name).mustache", problem: "missing from the installation")
        }
        if let overrideDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: overrideDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw TemplateError(file: overrideDirectory, problem: "the override directory (templates.directory) does not exist")
            }
            for (name, path) in try Self.templateFiles(in: overrideDirectory) {
                // A misspelt override would otherwise be ignored silently, like a misspelt config key.
                guard files[name] != nil else {
                    throw TemplateError(file: path, problem: "replaces no shipped template (the names are those under \(shipped))")
                }
                files[name] = path
            }
        }
        var library = MustacheLibrary()
        for (name, path) in files {
            library.register(try Self.parse(path, plainText: Self.isPlainText(name)), named: name)
        }
        self.library = library
        self.files = files
        try checkRendering()
    }

    /// The library a configuration names: the installation's templates (found like nginx/ and
    /// config/) with the overrides of `templates.directory`.
    public convenience init(_ settings: TemplateSettings) throws {
        try self.init(shareDirectory: ShareDirectory.locate(), overrideDirectory: settings.directory, defaultLanguage: settings.defaultLanguage)
    }

    /// Renders a mail. The subject becomes one header-safe line.
    public func mail(_ template: MailTemplate, _ context: MailContext, language: String? = nil) throws -> RenderedMail {
        let values = localized(context.values, language)
        return RenderedMail(
            subject: Self.headerLine(try render(template.subjectName, values)),
            text: try render(template.textName, values),
            html: try render(template.htmlName, values))
    }

    /// Renders a page to HTML (the API's page helper adds the headers).
    public func page(_ template: PageTemplate, _ context: PageContext, language: String? = nil) throws -> String {
        try render(template.name, localized(context.values, language))
    }

    /// Adds what makes a template speak `language` (the default one when nil or unknown): the
    /// `{{#t}}English text{{/t}}` lambda, which looks the text up in the catalog and renders the
    /// translation as a template (so `{{site_name}}` inside it still works), `language` (the BCP 47
    /// tag, for `<html lang>`) and a translated `link_lifetime`.
    private func localized(_ values: [String: Any], _ language: String?) -> [String: Any] {
        let catalog = translations.catalog(language)
        var values = values
        values["t"] = MustacheLambda { catalog.translate($0) }
        values["language"] = Translations.tag(catalog.code)
        if let lifetime = values["link_lifetime"] as? String { values["link_lifetime"] = catalog.translate(lifetime) }
        return values
    }

    /// Every template renders with sample data: what `check` runs, and what stops `serve` before
    /// a broken override reaches a user.
    public func checkRendering() throws {
        // Every language: a translation that drops `{{link}}` would send a mail without its link.
        for template in MailTemplate.allCases {
            let sample = MailContext.sample(for: template)
            for language in translations.languages {
                let mail = try mail(template, sample, language: language)
                if mail.subject.isEmpty { throw TemplateError(file: file(template.subjectName), problem: "renders an empty subject in \(language)") }
                for (name, body) in [(template.textName, mail.text), (template.htmlName, mail.html)] {
                    if body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                        throw TemplateError(file: file(name), problem: "renders an empty body (a missing layout or partial?)")
                    }
                    // A mail whose link got lost is useless to its reader.
                    if let link = sample.link, !body.contains(link) {
                        throw TemplateError(file: file(name), problem: "does not show the link ({{link}}) in \(language)")
                    }
                }
            }
        }
        for template in PageTemplate.allCases {
            for hasCapability in template.hasFormVariant ? [true, false] : [false] {
                let html = try page(template, .sample(for: template, hasCapability: hasCapability), language: translations.defaultLanguage)
                if html.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                    throw TemplateError(file: file(template.name), problem: "renders an empty page (a missing layout or partial?)")
                }
            }
        }
    }

    // MARK: loading

    /// Every template a shipped installation must have; layouts and partials come beside them.
    static var requiredNames: [String] {
        MailTemplate.allCases.flatMap(\.partNames) + PageTemplate.allCases.map(\.name)
    }

    private static let fileExtension = ".mustache"

    /// Name → path for every template below `directory`. A template's name is its file name
    /// without `.mustache`; folders only sort the files. (Mustache cannot close a parent tag whose
    /// name holds a `/`, so `{{<mail_layout.html}}` works where `{{<mail/layout.html}}` would not.)
    static func templateFiles(in directory: String) throws -> [String: String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else {
            throw TemplateError(file: directory, problem: "cannot read the directory")
        }
        var files: [String: String] = [:]
        for case let relative as String in enumerator where relative.hasSuffix(fileExtension) {
            let path = "\(directory)/\(relative)"
            let name = String(relative.split(separator: "/").last!.dropLast(fileExtension.count))
            if let other = files[name] {
                throw TemplateError(file: path, problem: "has the same name as \(other); template names must be unique")
            }
            files[name] = path
        }
        return files
    }

    /// Subjects and text bodies must not be HTML-escaped (`&` in a link would become `&amp;`).
    static func isPlainText(_ name: String) -> Bool { name.hasSuffix(".subject") || name.hasSuffix(".txt") }

    private static func parse(_ path: String, plainText: Bool) throws -> MustacheTemplate {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw TemplateError(file: path, problem: "cannot be read as UTF-8 text")
        }
        do {
            // The pragma goes on the same line, so parser line numbers stay those of the file.
            return try MustacheTemplate(string: (plainText ? "{{% CONTENT_TYPE: TEXT}}" : "") + text)
        } catch let error as MustacheTemplate.ParserError {
            throw TemplateError(file: path, problem: "line \(error.context.lineNumber), column \(error.context.columnNumber): \(Self.words(error.error))")
        }
    }

    private static func words(_ error: Error) -> String {
        switch error as? MustacheTemplate.Error {
        case .sectionCloseNameIncorrect: "a closing tag does not match the section it closes"
        case .unfinishedName: "a tag is not closed, or its name has a character Mustache does not allow"
        case .expectedSectionEnd: "a section is never closed"
        case .invalidSetDelimiter: "a malformed set-delimiter tag"
        case .transformAppliedToInheritanceSection, .illegalTokenInsideInheritSection, .textInsideInheritSection:
            "only {{$block}} definitions may appear inside a parent tag"
        case .invalidConfigVariableSyntax, .unrecognisedConfigVariable: "an unknown or malformed pragma"
        case nil: "\(error)"
        }
    }

    // MARK: rendering

    private func render(_ name: String, _ values: [String: Any]) throws -> String {
        guard let output = library.render(values, withTemplate: name) else {
            throw TemplateError(file: file(name), problem: "no such template")
        }
        return output
    }

    private func file(_ name: String) -> String { files[name] ?? "\(name).mustache" }

    /// One line of printable text: a subject goes into a mail header, where a line break from a
    /// user-controlled value (a first name) must not start a header of its own.
    static func headerLine(_ text: String) -> String {
        text.unicodeScalars.map { CharacterSet.controlCharacters.contains($0) ? " " : String($0) }.joined()
            .split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }
}
