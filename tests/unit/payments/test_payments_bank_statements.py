"""Bank statement files: CSV and camt.053 parsed into incoming transfers, refused clearly when malformed."""

from __future__ import annotations

from datetime import date

import pytest

from azotte_payments.domain.bank_statements import StatementFormat, parse_statement
from azotte_platform.errors import InvalidArgument

CAMT053 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>STMT-1</MsgId><CreDtTm>2026-04-02T06:00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>STMT-1</Id>
   <Ntry>
    <Amt Ccy="EUR">1190.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2026-04-01</Dt></BookgDt><AcctSvcrRef>BANK-0001</AcctSvcrRef>
    <NtryDtls><TxDtls>
     <Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
     <RltdPties><Dbtr><Nm>ACME GmbH</Nm></Dbtr></RltdPties>
     <RmtInf><Strd><CdtrRefInf><Ref>RF18 5390 0754 7034</Ref></CdtrRefInf></Strd></RmtInf>
    </TxDtls></NtryDtls>
   </Ntry>
   <Ntry>
    <Amt Ccy="EUR">50.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>
    <BookgDt><Dt>2026-04-01</Dt></BookgDt><AcctSvcrRef>BANK-0002</AcctSvcrRef>
   </Ntry>
   <Ntry>
    <Amt Ccy="EUR">300.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
    <BookgDt><Dt>2026-04-01</Dt></BookgDt><AcctSvcrRef>BANK-0003</AcctSvcrRef>
    <NtryDtls>
     <TxDtls><Amt Ccy="EUR">100.00</Amt><RmtInf><Ustrd>first</Ustrd></RmtInf></TxDtls>
     <TxDtls><Amt Ccy="EUR">200.00</Amt><RmtInf><Ustrd>second</Ustrd></RmtInf></TxDtls>
    </NtryDtls>
   </Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>
"""


def test_camt053_credit_entries_become_transfers_with_reference_payer_and_bank_id() -> None:
    entries = parse_statement(CAMT053.encode(), StatementFormat.CAMT053)
    assert [(e.bank_reference, e.amount_minor) for e in entries] == [
        ("BANK-0001", 119_000),
        ("BANK-0003/1", 10_000),
        ("BANK-0003/2", 20_000),
    ]
    first = entries[0]
    assert first.booked_on == date(2026, 4, 1) and first.payer == "ACME GmbH" and first.currency == "EUR"
    assert first.reference == "RF18539007547034"
    assert entries[1].reference is None and entries[1].remittance == "first"


def test_csv_lines_skip_debits_and_identical_lines_are_distinct_transfers() -> None:
    content = (
        b"date,amount,currency,remittance,payer\n"
        b"2026-04-01,1190.00,EUR,Invoice RF18539007547034,ACME\n"
        b"2026-04-01,-20.00,EUR,bank fee,\n"
        b"2026-04-02,5,EUR,coffee,Bob\n"
        b"2026-04-02,5,EUR,coffee,Bob\n"
    )
    entries = parse_statement(content, StatementFormat.CSV)
    assert [e.amount_minor for e in entries] == [119_000, 500, 500]
    assert entries[0].reference == "RF18539007547034"
    assert entries[1].dedupe_key != entries[2].dedupe_key
    again = parse_statement(content, StatementFormat.CSV)
    assert [e.dedupe_key for e in again] == [e.dedupe_key for e in entries]


def test_currency_exponents_are_respected() -> None:
    content = b"date,amount,currency,remittance\n2026-04-01,1500,JPY,x\n2026-04-01,1.234,BHD,y\n"
    assert [e.amount_minor for e in parse_statement(content, StatementFormat.CSV)] == [1500, 1234]
    with pytest.raises(InvalidArgument, match="line 2"):
        parse_statement(b"date,amount,currency,remittance\n2026-04-01,1.5,JPY,x\n", StatementFormat.CSV)


@pytest.mark.parametrize(
    ("content", "statement_format", "problem"),
    [
        (b"", StatementFormat.CSV, "empty"),
        (b"when,how much\n1,2\n", StatementFormat.CSV, "header lacks"),
        (b"date,amount,currency,remittance\n2026-04-01,abc,EUR,x\n", StatementFormat.CSV, "line 2"),
        (b"date,amount,currency,remittance\n2026-13-01,1,EUR,x\n", StatementFormat.CSV, "line 2"),
        (b"date,amount,currency,remittance\n2026-04-01,1,ZZZ,x\n", StatementFormat.CSV, "ISO 4217"),
        (b"date,amount,currency,remittance\n2026-04-01,1e40,EUR,x\n", StatementFormat.CSV, "line 2"),
        (b"\xff\xfe", StatementFormat.CSV, "UTF-8"),
        (b"<Document><unclosed></Document>", StatementFormat.CAMT053, "XML"),
        (b"<Document/>", StatementFormat.CAMT053, "BkToCstmrStmt"),
        (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document>&x;</Document>',
            StatementFormat.CAMT053,
            "XML",
        ),
    ],
)
def test_malformed_files_are_refused_naming_content(
    content: bytes, statement_format: StatementFormat, problem: str
) -> None:
    with pytest.raises(InvalidArgument) as error:
        parse_statement(content, statement_format)
    assert error.value.violations[0].field == "content" and problem in str(error.value)
