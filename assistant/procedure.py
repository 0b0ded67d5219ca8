"""How-to questions met by a sanction. "怎么办理护照" or "开公司要办什么手续" asks for a procedure
no document here describes; the clause that matches best is then often the one punishing doing
it against the rules ("违反规定……办理因私出境证件的，予以记过……"). The gate weighs that
mismatch; a question about the wrongdoing itself ("私自办护照会被处分吗") is no mismatch.
"""
from __future__ import annotations

import re

_ASKS_PROCEDURE = re.compile(
    r"(?:怎么|怎样|如何)(?:办理|申请|登记|审批|报批)|办理(?:流程|手续|程序)|(?:什么|哪些)(?:手续|材料)|"
    r"(?:去|到|在|找)哪[里儿个]?(?:办理?|申请|登记|审批|批)|流程(?:是|怎么)")
_ASKS_ABOUT_WRONGDOING = re.compile(r"处分|处理|处罚|违规|违反|违纪|违法|追责|问责|后果|会怎样|会怎么样|查处|私自|擅自")
_SANCTIONS = re.compile(r"(?:给予|予以)[^。；]{0,16}(?:警告|记过|记大过|降级|撤职|开除|处分|留党察看|撤销党内职务)")


def procedure_met_by_sanction(question: str, clause_text: str) -> bool:
    """Whether the question asks how to get something done, not about doing it wrongly, and
    the clause only sanctions."""
    return (bool(_ASKS_PROCEDURE.search(question)) and not _ASKS_ABOUT_WRONGDOING.search(question)
            and bool(_SANCTIONS.search(clause_text)))
