import { parse, type DocumentNode, type ParseOptions } from "graphql";

/**
 * Parsed documents by query text, the most recently used kept (at most `size`, each at most `maxLength`
 * characters; longer ones are parsed every time). Dashboards open many subscriptions with the same query: they
 * then share one document, instead of holding a parse tree each for as long as they live.
 */
export class DocumentCache {
  private readonly documents = new Map<string, DocumentNode>();

  constructor(
    private readonly size = 500,
    private readonly maxLength = 10_000,
    /** Passed to graphql-js's `parse` (its `maxTokens` bounds what a document costs). */
    private readonly parseOptions: ParseOptions = {},
  ) {}

  parse(query: string): DocumentNode {
    const known = this.documents.get(query);
    if (known) {
      // Most recently used last.
      this.documents.delete(query);
      this.documents.set(query, known);
      return known;
    }
    const document = parse(query, this.parseOptions);
    if (query.length <= this.maxLength) {
      if (this.documents.size >= this.size) this.documents.delete(this.documents.keys().next().value!);
      this.documents.set(query, document);
    }
    return document;
  }
}
