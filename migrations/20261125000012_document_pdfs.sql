-- The PDF last rendered for each quote and invoice: where it is stored and what it
-- was rendered from. `version` is the document's version at the time; the
-- fingerprint is a SHA-256 of everything printed (document, client, business
-- settings), so a change to any of them makes the stored PDF stale and the next
-- request (or the pdf.generation queue) renders it again.
CREATE TABLE document_pdfs (
    account_id   uuid NOT NULL REFERENCES accounts (id),
    id           uuid NOT NULL,
    quote_id     uuid,
    invoice_id   uuid,
    -- The object key (seed §7.1), e.g. uploads/{account}/invoices/{invoice}.pdf.
    storage_key  text NOT NULL,
    version      integer NOT NULL,
    fingerprint  text NOT NULL,
    bytes        integer NOT NULL,
    pages        integer NOT NULL,
    rendered_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    CONSTRAINT document_pdfs_one_document_check CHECK ((quote_id IS NULL) <> (invoice_id IS NULL)),
    CONSTRAINT document_pdfs_quote_fkey FOREIGN KEY (account_id, quote_id) REFERENCES quotes (account_id, id) ON DELETE CASCADE,
    CONSTRAINT document_pdfs_invoice_fkey FOREIGN KEY (account_id, invoice_id) REFERENCES invoices (account_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX document_pdfs_quote_key ON document_pdfs (account_id, quote_id) WHERE quote_id IS NOT NULL;
CREATE UNIQUE INDEX document_pdfs_invoice_key ON document_pdfs (account_id, invoice_id) WHERE invoice_id IS NOT NULL;

ALTER TABLE document_pdfs ENABLE ROW LEVEL SECURITY;
ALTER TABLE document_pdfs FORCE ROW LEVEL SECURITY;
CREATE POLICY document_pdfs_tenant ON document_pdfs USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
