"""Which language a mail is written in: en, zh-Hans, zh-Hant or mixed (English and Chinese).

Traditional vs Simplified is told apart with a small table of common characters that differ
between the two scripts; no dictionary or external package is needed.
"""

from __future__ import annotations

import re

LANGUAGES = ("en", "zh-Hans", "zh-Hant", "mixed")

# (Simplified, Traditional) pairs of frequent characters that are written differently.
_PAIRS = (
    "们們 这這 个個 来來 说說 为為 时時 会會 后後 发發 问問 题題 与與 "
    "对對 点點 请請 谢謝 还還 应應 该該 过過 经經 现現 开開 关關 么麼 "
    "吗嗎 没沒 见見 东東 车車 门門 长長 书書 话話 语語 让讓 认認 识識 "
    "议議 员員 务務 专專 产產 网網 络絡 电電 脑腦 设設 计計 线線 数數 "
    "据據 报報 统統 单單 页頁 钮鈕 录錄 图圖 显顯 导導 户戶 账賬 号號 "
    "码碼 实實 际際 资資 费費 订訂 购購 类類 级級 区區 选選 项項 体體 "
    "验驗 简簡 准準 备備 办辦 处處 变變 动動 头頭 续續 较較 结結 种種 "
    "样樣 帮幫 烦煩 试試 总總 态態 义義 给給 从從 无無 乐樂 业業 尽盡 "
    "马馬 紧緊 严嚴 诉訴 师師 复復 转轉 击擊 载載 标標 签簽 讯訊 环環 "
    "节節 运運 营營 达達 边邊 进進 远遠 连連 适適 确確 间間 闻聞 阅閱 "
    "陆陸 随隨 预預 领領 频頻 颜顏 风風 饭飯 馆館 驱驅 鸟鳥 龙龍 岁歲 "
    "币幣 库庫 "
)
SIMPLIFIED = frozenset(pair[0] for pair in _PAIRS.split())
TRADITIONAL = frozenset(pair[1] for pair in _PAIRS.split())

_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")

# A mail is "mixed" when it has at least MIXED_MIN_HAN Han characters and at least
# MIXED_LATIN_PER_HAN Latin letters (in words of 2+ letters) per Han character. Chinese mails that
# name a product or two (iPhone, Excel, SSL) stay Chinese; measured on the bundled corpus.
MIXED_MIN_HAN = 2
MIXED_LATIN_PER_HAN = 0.4


def script(text: str) -> str:
    """zh-Hans or zh-Hant by the table above; zh-Hans when undecided."""
    simplified = traditional = 0
    for char in text:
        if char in SIMPLIFIED:
            simplified += 1
        elif char in TRADITIONAL:
            traditional += 1
    return "zh-Hant" if traditional > simplified else "zh-Hans"


def detect(text: str) -> str:
    han = len(_HAN.findall(text))
    if han == 0:
        return "en"
    latin = sum(len(w) for w in _LATIN_WORD.findall(text))
    if han >= MIXED_MIN_HAN and latin >= MIXED_LATIN_PER_HAN * han:
        return "mixed"
    return script(text)
