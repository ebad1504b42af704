"""Draw the images of the bundled demo feed into ``assets/demo/src/images/``.

Every person, place, firm and number in them is invented and matches the text of the
item that lists the image. The images are committed, so this only needs running after a
change here; run it from the repository root::

    .venv/bin/python assets/demo/make_images.py

They exercise what real boards carry: a finance table with bars (PNG), scanned receipts
(JPEG, slightly skewed and grainy), a project drawing (JPEG), a site sketch (WebP), a
portrait notice poster (PNG) and a landscape notice (PNG). Output is deterministic.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

OUT = Path(__file__).resolve().parent / "src" / "images"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
INK = (33, 33, 33)
GREY = (110, 110, 110)
RULE = (150, 150, 150)
RED = (183, 28, 28)
BLUE = (21, 71, 140)
GREEN = (27, 94, 32)
AMBER = (121, 85, 24)
PAPER = (255, 255, 255)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
_fonts: dict[int, Font] = {}


def font(size: int) -> Font:
    if size not in _fonts:
        for path in FONT_CANDIDATES:
            if Path(path).exists():
                _fonts[size] = ImageFont.truetype(path, size)
                break
        else:
            print("warning: no CJK font found; Chinese text will not render", file=sys.stderr)
            _fonts[size] = ImageFont.load_default()
    return _fonts[size]


def text_w(draw: ImageDraw.ImageDraw, text: str, size: int) -> float:
    return draw.textlength(text, font=font(size))


def center(draw: ImageDraw.ImageDraw, y: int, text: str, size: int, fill=INK, x0=0, x1=None):
    x1 = x1 if x1 is not None else draw.im.size[0]
    draw.text(((x0 + x1 - text_w(draw, text, size)) / 2, y), text, font=font(size), fill=fill)


def right(draw: ImageDraw.ImageDraw, x: int, y: int, text: str, size: int, fill=INK) -> None:
    draw.text((x - text_w(draw, text, size), y), text, font=font(size), fill=fill)


def money(value: float) -> str:
    return f"{value:,.2f}"


# --- 1. monthly income and expenditure, table with bars ---------------------------------

INCOME = [
    ("上级转移支付（村级组织运转经费）", 38500.00),
    ("鱼塘承包费", 12000.00),
    ("集体厂房租金", 9600.00),
    ("存款利息收入", 86.40),
]
SPENDING = [
    ("村干部基本报酬", 21800.00),
    ("办公及水电费", 2357.60),
    ("村道路灯维修", 4680.00),
    ("环境卫生保洁", 6000.00),
    ("党员活动经费", 1500.00),
    ("防汛物资购置", 3420.00),
]


def finance_month() -> Image.Image:
    img = Image.new("RGB", (1600, 1200), PAPER)
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 1600, 120), fill=AMBER)
    center(d, 30, "柳塘村2026年9月村级财务收支公开表", 54, fill=PAPER)
    d.text((80, 150), "单位：元　　公开单位：柳塘村村民委员会　　所属期间：2026年9月1日—9月30日",
           font=font(26), fill=GREY)  # fmt: skip
    biggest = max(v for _, v in INCOME + SPENDING)
    y = 210

    def block(title: str, rows: list[tuple[str, float]], colour: tuple[int, int, int]) -> None:
        nonlocal y
        d.rectangle((80, y, 1520, y + 52), fill=(245, 240, 230))
        d.text((100, y + 10), title, font=font(30), fill=colour)
        right(d, 1000, y + 10, "金额", 30, fill=colour)
        y += 62
        for name, value in rows:
            d.text((100, y + 8), name, font=font(28), fill=INK)
            right(d, 1000, y + 8, money(value), 28)
            bar = int(460 * value / biggest)
            d.rectangle((1040, y + 12, 1040 + max(bar, 3), y + 40), fill=colour)
            d.line((80, y + 52, 1520, y + 52), fill=(225, 225, 225), width=1)
            y += 56
        total = sum(v for _, v in rows)
        d.text((100, y + 8), "合　计", font=font(30), fill=INK)
        right(d, 1000, y + 8, money(total), 30)
        d.line((80, y + 56, 1520, y + 56), fill=RULE, width=2)
        y += 80

    block("一、本月收入", INCOME, GREEN)
    block("二、本月支出", SPENDING, RED)
    balance = sum(v for _, v in INCOME) - sum(v for _, v in SPENDING)
    d.text((100, y), f"三、本月收支结余：{money(balance)} 元", font=font(32), fill=INK)
    d.text((80, 1110), "村务监督委员会审核：黄德厚　　报账员：吴小琴　　公开日期：2026年10月8日",
           font=font(26), fill=GREY)  # fmt: skip
    return img


# --- 2. scanned receipts ----------------------------------------------------------------


def receipt(no: str, day: str, payer: str, what: str, big: str, amount: float, firm: str,
            seed: int) -> Image.Image:  # fmt: skip
    rng = random.Random(seed)
    paper = Image.new("RGB", (1500, 1000), (250, 246, 232))
    d = ImageDraw.Draw(paper)
    d.rectangle((60, 60, 1440, 940), outline=(120, 60, 60), width=3)
    center(d, 90, "收　款　收　据", 56, fill=(120, 40, 40))
    right(d, 1400, 110, f"No. {no}", 30, fill=(180, 40, 40))
    d.text((110, 190), f"日期：{day}", font=font(30), fill=INK)
    lines = [
        f"今收到：{payer}",
        f"交　来：{what}",
        f"人民币（大写）：{big}",
        f"¥ {money(amount)}",
    ]
    for i, line in enumerate(lines):
        y = 270 + i * 120
        d.text((110, y), line, font=font(40), fill=(40, 40, 90))
        d.line((110, y + 60, 1390, y + 60), fill=(160, 120, 120), width=2)
    d.text((110, 800), f"收款单位（盖章）：{firm}", font=font(30), fill=INK)
    d.text((110, 860), "经手人：何志强　　　　收款人：谢婷", font=font(30), fill=INK)
    # A red seal, a little off-centre and faint as a real stamp is.
    stamp = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    sd = ImageDraw.Draw(stamp)
    sd.ellipse((10, 10, 290, 290), outline=(200, 30, 30, 170), width=10)
    sd.regular_polygon((150, 150, 40), 5, rotation=90, fill=(200, 30, 30, 170))
    sd.text((150, 230), "财务专用章", font=font(34), fill=(200, 30, 30, 170), anchor="mm")
    stamp = stamp.rotate(rng.uniform(-20, 20), resample=Image.BICUBIC)
    paper.paste(stamp, (1040, 640), stamp)
    # Grain and skew, as from a flatbed scanner.
    grain = rng.randbytes(paper.width * paper.height)  # seeded: the output is reproducible
    noise = Image.frombytes("L", paper.size, grain).convert("RGB")
    paper = Image.blend(paper, noise, 0.05)
    page = paper.rotate(rng.uniform(-1.6, 1.6), resample=Image.BICUBIC, expand=True,
                        fillcolor=(236, 236, 236))  # fmt: skip
    canvas = Image.new("RGB", (1600, 1200), (236, 236, 236))
    canvas.paste(page, ((1600 - page.width) // 2, (1200 - page.height) // 2))
    return canvas.filter(ImageFilter.GaussianBlur(0.6))


# --- 3. project drawing -----------------------------------------------------------------


def road_drawing() -> Image.Image:
    img = Image.new("RGB", (1600, 1200), (252, 252, 248))
    d = ImageDraw.Draw(img)
    center(d, 40, "柳塘村村道硬化工程（第二阶段）施工进度示意图", 46)
    center(d, 104, "桩号 K0+000 — K1+850　路面宽 4.5 米　C30 混凝土厚 20 厘米", 28, fill=GREY)
    for gx in range(100, 1520, 60):  # a faint drafting grid
        d.line((gx, 160, gx, 1000), fill=(236, 238, 240))
    for gy in range(160, 1000, 60):
        d.line((100, gy, 1500, gy), fill=(236, 238, 240))
    river = [(100, 900), (400, 860), (700, 930), (1000, 880), (1500, 940)]
    d.line(river, fill=(120, 170, 220), width=26, joint="curve")
    d.text((1240, 950), "柳溪", font=font(28), fill=(70, 120, 180))
    road = [(150, 300), (520, 360), (800, 520), (1100, 560), (1450, 720)]
    done, doing = road[:3], road[2:4]
    d.line(road, fill=(200, 200, 200), width=34)
    d.line(done, fill=GREEN, width=34)
    d.line(doing, fill=AMBER, width=34)
    for x, y in road[3:]:
        d.ellipse((x - 8, y - 8, x + 8, y + 8), fill=GREY)
    for (x, y), mark in zip(road, ["K0+000", "K0+450", "K0+980", "K1+420", "K1+850"],
                             strict=True):  # fmt: skip
        d.text((x - 50, y - 70), mark, font=font(26), fill=INK)
    rng = random.Random(7)
    for _ in range(14):  # houses along the road
        x, y = rng.randint(180, 1400), rng.randint(180, 800)
        d.rectangle((x, y, x + 40, y + 30), outline=GREY, width=2)
    d.text((200, 200), "柳塘村一组", font=font(28), fill=GREY)
    d.text((820, 640), "柳塘村三组", font=font(28), fill=GREY)
    d.polygon([(1450, 180), (1430, 250), (1470, 250)], fill=INK)  # north arrow
    d.text((1440, 255), "北", font=font(28), fill=INK)
    legend = [(GREEN, "已完工（K0+000—K0+980）"), (AMBER, "施工中（K0+980—K1+420）"),
              ((200, 200, 200), "未开工（K1+420—K1+850）")]  # fmt: skip
    for i, (colour, label) in enumerate(legend):
        y = 1040 + i * 46
        d.rectangle((120, y + 8, 190, y + 30), fill=colour)
        d.text((210, y), label, font=font(28), fill=INK)
    d.text((900, 1086), "绘制：桃源镇村镇建设服务站　2026年10月", font=font(26), fill=GREY)
    return img


# --- 4. homestead site sketch (WebP) ----------------------------------------------------


def homestead_sketch() -> Image.Image:
    img = Image.new("RGB", (1600, 1200), (250, 250, 246))
    d = ImageDraw.Draw(img)
    center(d, 40, "柳塘村2026年第三批宅基地审批位置示意图", 46)
    d.rectangle((120, 160, 1480, 980), outline=GREY, width=2)
    d.rectangle((120, 540, 1480, 600), fill=(215, 215, 215))
    d.text((700, 552), "村道（已硬化）", font=font(28), fill=INK)
    parcels = [
        ((200, 250, 480, 500), "①", "刘*平", "120㎡"),
        ((560, 250, 820, 500), "②", "陈*军", "110㎡"),
        ((300, 650, 600, 900), "③", "黄*明", "125㎡"),
        ((1000, 650, 1280, 900), "④", "吴*华", "98㎡"),
    ]
    for box, num, name, area in parcels:
        d.rectangle(box, fill=(255, 243, 224), outline=AMBER, width=4)
        cx, cy = (box[0] + box[2]) // 2, (box[1] + box[3]) // 2
        d.text((cx, cy - 40), num, font=font(48), fill=AMBER, anchor="mm")
        d.text((cx, cy + 20), f"{name}　{area}", font=font(30), fill=INK, anchor="mm")
    d.rectangle((960, 240, 1400, 480), fill=(225, 240, 225), outline=GREEN, width=2)
    d.text((1180, 360), "基本农田（不得占用）", font=font(28), fill=GREEN, anchor="mm")
    d.text((120, 1010), "注：位置为示意，以自然资源部门实地放线为准。姓名已作脱敏处理。",
           font=font(28), fill=GREY)  # fmt: skip
    d.text((120, 1060), "桃源镇人民政府　2026年9月", font=font(28), fill=GREY)
    return img


# --- 5. flood-season poster (portrait) --------------------------------------------------


def flood_poster() -> Image.Image:
    img = Image.new("RGB", (1200, 1600), PAPER)
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 1200, 220), fill=RED)
    center(d, 50, "紧 急 通 知", 96, fill=PAPER)
    center(d, 280, "柳塘水库　安全防范", 72, fill=RED)
    points = [
        "一、不在水库、河道周边游泳、垂钓、捕鱼；",
        "二、看护好老人和孩子，远离溢洪道和涵闸；",
        "三、暴雨期间不涉水过桥，不在低洼处停留；",
        "四、发现堤坝渗水、裂缝、塌陷，立即报告；",
        "五、听到转移警报，按指定路线撤离到村部。",
    ]
    for i, line in enumerate(points):
        d.text((90, 450 + i * 110), line, font=font(44), fill=INK)
    d.rectangle((90, 1080, 1110, 1300), outline=RED, width=6)
    center(d, 1110, "24小时值班电话", 48, fill=RED)
    center(d, 1190, "0799-0612110", 72, fill=INK)
    center(d, 1400, "桃源镇防汛抗旱指挥部", 40, fill=GREY)
    center(d, 1460, "2026年10月20日", 36, fill=GREY)
    return img


# --- 6. water-stop notice (landscape) ---------------------------------------------------


def water_notice() -> Image.Image:
    img = Image.new("RGB", (1600, 1200), PAPER)
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 1600, 150), fill=BLUE)
    center(d, 40, "供水管网改造期间计划停水安排", 64, fill=PAPER)
    rows = [
        ("停水时间", "每周二 上午 8:00 — 12:00"),
        ("停水范围", "柳塘村一组、二组、五组（村道以东片区）"),
        ("临时供水", "村部门前设临时取水点，可自带容器取水"),
        ("施工单位", "青溪县城乡供水有限公司第三工程队"),
        ("联系电话", "0799-0612301（村委会）"),
    ]
    for i, (key, value) in enumerate(rows):
        y = 240 + i * 150
        d.rectangle((100, y, 1500, y + 120), outline=RULE, width=2)
        d.rectangle((100, y, 420, y + 120), fill=(232, 238, 246))
        d.text((140, y + 36), key, font=font(44), fill=BLUE)
        d.text((460, y + 38), value, font=font(40), fill=INK)
    center(d, 1030, "请提前储水，错峰用水。给您带来不便，敬请谅解！", 40, fill=INK)
    center(d, 1110, "柳塘村村民委员会　2026年10月28日", 32, fill=GREY)
    return img


# --- 7. party dues table ----------------------------------------------------------------

DUES = [("7月", 46, 46, 1286.50), ("8月", 46, 46, 1286.50), ("9月", 46, 46, 1301.50)]


def dues_table() -> Image.Image:
    img = Image.new("RGB", (1600, 1200), PAPER)
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 1600, 12), fill=RED)
    center(d, 60, "中共柳塘村支部委员会", 40, fill=RED)
    center(d, 120, "2026年第三季度党费收缴情况公示表", 54)
    cols = [(100, "月份"), (340, "应缴人数"), (600, "实缴人数"), (860, "收缴金额（元）"),
            (1220, "上缴情况")]  # fmt: skip
    y = 240
    d.rectangle((100, y, 1500, y + 80), fill=(250, 235, 235))
    for x, label in cols:
        d.text((x + 20, y + 20), label, font=font(34), fill=RED)
    for month, due, paid, amount in DUES:
        y += 90
        values = [month, str(due), str(paid), money(amount), "已全额上缴"]
        for (x, _), value in zip(cols, values, strict=True):
            d.text((x + 20, y + 22), value, font=font(34), fill=INK)
        d.line((100, y + 80, 1500, y + 80), fill=(220, 220, 220), width=2)
    y += 90
    total = sum(a for *_, a in DUES)
    d.text((120, y + 22), "合计", font=font(36), fill=INK)
    d.text((880, y + 22), money(total), font=font(36), fill=INK)
    d.rectangle((100, 240, 1500, y + 80), outline=RULE, width=2)
    notes = [
        "说明：本支部现有党员46名（正式党员44名、预备党员2名），无欠缴、少缴情况。",
        "　　　党费已于每月月底前全额上缴中共桃源镇委员会组织办。",
        "　　　镇党委下拨党费1,500.00元，用于慰问生活困难党员3名，每人500.00元。",
    ]
    for i, line in enumerate(notes):
        d.text((100, y + 140 + i * 50), line, font=font(30), fill=INK)
    d.text((100, 1110), "公开日期：2026年10月10日　　监督电话：0799-0612345", font=font(28),
           fill=GREY)  # fmt: skip
    return img


# --- 8. collective assets ---------------------------------------------------------------

ASSETS = [
    ("村部办公楼", "1栋 / 680㎡", "860,000.00", "自用"),
    ("集体厂房", "2间 / 320㎡", "240,000.00", "出租"),
    ("文化活动广场", "1处 / 1,500㎡", "315,000.00", "公益"),
    ("灌溉泵站", "2座", "96,000.00", "自用"),
    ("鱼塘", "56亩", "—", "发包"),
    ("集体山林", "1,230亩", "—", "发包"),
    ("机动地", "18.6亩", "—", "发包"),
]


def assets_table() -> Image.Image:
    img = Image.new("RGB", (1600, 1200), PAPER)
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 1600, 120), fill=AMBER)
    center(d, 30, "柳塘村集体资产资源清查结果公示表", 54, fill=PAPER)
    cols = [(100, "名称"), (460, "数量 / 面积"), (860, "账面原值（元）"), (1260, "使用方式")]
    y = 180
    d.rectangle((100, y, 1500, y + 70), fill=(245, 240, 230))
    for x, label in cols:
        d.text((x + 20, y + 16), label, font=font(32), fill=AMBER)
    for row in ASSETS:
        y += 78
        for (x, _), value in zip(cols, row, strict=True):
            d.text((x + 20, y + 18), value, font=font(32), fill=INK)
        d.line((100, y + 74, 1500, y + 74), fill=(225, 225, 225), width=2)
    d.rectangle((100, 180, 1500, y + 74), outline=RULE, width=2)
    d.text((100, y + 120), "固定资产账面原值合计：1,511,000.00 元（不含资源性资产）",
           font=font(32), fill=INK)  # fmt: skip
    d.text((100, 1110), "清查基准日：2026年9月30日　　清查小组组长：陈立新　　监督：黄德厚",
           font=font(28), fill=GREY)  # fmt: skip
    return img


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    jobs = {
        "caiwu-2026-09-shouzhi.png": finance_month,
        "caiwu-receipt-ludeng.jpg": lambda: receipt(
            "0012573", "2026年9月16日", "柳塘村村民委员会",
            "村道LED路灯更换款（24盏）", "肆仟陆佰捌拾元整", 4680.00,
            "青溪县明亮照明器材经营部", seed=1),
        "caiwu-receipt-fangxun.jpg": lambda: receipt(
            "0003318", "2026年9月21日", "柳塘村村民委员会",
            "防汛物资（编织袋、救生衣、应急灯）", "叁仟肆佰贰拾元整", 3420.00,
            "青溪县安澜劳保用品商行", seed=2),
        "cunwu-road-phase2.jpg": road_drawing,
        "cunwu-zhaijidi-2026-3.webp": homestead_sketch,
        "tongzhi-fangxun-poster.png": flood_poster,
        "tongzhi-tingshui.png": water_notice,
        "dangwu-dangfei-2026q3.png": dues_table,
        "caiwu-sanzi-2026.png": assets_table,
    }  # fmt: skip
    for name, draw in jobs.items():
        img = draw()
        path = OUT / name
        if name.endswith(".jpg"):
            img.save(path, "JPEG", quality=82, optimize=True)
        elif name.endswith(".webp"):
            img.save(path, "WEBP", quality=80, method=6)
        else:
            img.save(path, "PNG", optimize=True)
        print(f"{path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}: "
              f"{img.width}x{img.height}, {path.stat().st_size} bytes")  # fmt: skip


if __name__ == "__main__":
    main()
