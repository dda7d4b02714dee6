"""fukaiji: マイナンバー情報連携・マイナポータルと DV・虐待等被害者の不開示措置.

My Number information linkage and the My Number portal, together with the non-disclosure
measures (不開示措置) that keep a victim of domestic violence or abuse hidden from the
perpetrator. See DESIGN.md of the project for the threat model and the invariant.
"""

__version__ = "0.1.0"
