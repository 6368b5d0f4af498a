"""The generated part of the training corpus (data/corpus/mail/): raw .eml client mail.

    .venv/bin/python data/generate/corpus.py [--out data/corpus/mail] [--seed 7] [--n 4400]

Every mail is assembled from hand-written fragments: a persona (name, role, company, industry,
language variety, writing habit), a greeting, the core (one to three sentences chosen for the
label and family, their slots filled from the industry's vocabulary), optional context and
detail, a closing, a signature and sometimes a disclaimer; replies carry quoted history in one
of the clients' mail programs' styles (Outlook, Gmail, Apple/iPhone, QQ, Foxmail, 163, Yahoo,
Thunderbird, HTML blockquote), forwards carry a forwarded chain, and some mails are HTML only
(with a table) or one-line mobile mails. The label always follows docs/triage.md on the new
text. The seed fixes every choice, so the same command writes the same files.

This generator and its phrase banks are separate from data/generate/devset.py, which writes
the dev set; tests/unit/triage/test_dev_set.py checks they share no sentence.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from random import Random

sys.path.insert(0, str(Path(__file__).resolve().parent))
from emlkit import Mail, html_page, moment, render, write_set  # noqa: E402

# ============================================================== industries: slot vocabulary
IND_EN = {
    "retail": {"obj": ["the product page", "the basket", "the voucher code field", "the stock counter", "the order confirmation email", "the size guide", "the returns form"], "sys": ["web shop", "storefront", "click-and-collect site"], "feat": ["gift wrapping at checkout", "a wishlist", "a loyalty points balance", "Klarna as a payment option", "a back-in-stock alert"], "data": ["order totals", "stock levels", "VAT amounts"]},
    "health": {"obj": ["the appointment list", "the patient search", "the referral form", "the lab results view", "the discharge letter export"], "sys": ["clinic portal", "patient app", "booking system"], "feat": ["a reminder text 24 hours before appointments", "a video consultation link", "a Polish translation of the patient forms", "a waiting-room screen"], "data": ["appointment times", "patient counts", "invoice codes"]},
    "logistics": {"obj": ["the tracking page", "the delivery note PDF", "the route planner", "the driver app login", "the label printing"], "sys": ["tracking portal", "fleet dashboard", "customer portal"], "feat": ["proof-of-delivery photos", "a CSV upload for bulk shipments", "an ETA email to the consignee", "a depot filter"], "data": ["parcel weights", "delivery dates", "fuel surcharges"]},
    "education": {"obj": ["the timetable", "the enrolment form", "the grade book", "the course catalogue", "the parent login"], "sys": ["learning platform", "school website", "student portal"], "feat": ["a parents' evening booking tool", "an attendance export", "a Welsh language version", "course reviews"], "data": ["grades", "attendance figures", "fee amounts"]},
    "finance": {"obj": ["the statement download", "the KYC upload", "the transfer screen", "the two-factor prompt", "the portfolio chart"], "sys": ["client portal", "investor dashboard", "banking app"], "feat": ["a quarterly performance PDF", "biometric login", "an audit trail export", "a second signatory workflow"], "data": ["balances", "interest figures", "exchange rates"]},
    "hospitality": {"obj": ["the room availability calendar", "the booking widget", "the menu page", "the table reservation form", "the gift card checkout"], "sys": ["hotel website", "reservation engine", "guest app"], "feat": ["a late check-out upsell", "an Italian version of the site", "spa bookings", "a group booking request form"], "data": ["room rates", "occupancy numbers", "deposit amounts"]},
    "manufacturing": {"obj": ["the work order screen", "the parts catalogue", "the quality checklist", "the machine status board", "the supplier portal login"], "sys": ["MES dashboard", "dealer portal", "maintenance app"], "feat": ["barcode scanning for parts", "a shift handover report", "a spare-parts reorder alert", "an OEE chart"], "data": ["batch numbers", "scrap rates", "unit prices"]},
    "nonprofit": {"obj": ["the donation form", "the volunteer sign-up", "the event page", "the Gift Aid checkbox", "the newsletter signup"], "sys": ["charity website", "donor portal", "volunteer app"], "feat": ["monthly giving", "a fundraising thermometer", "a map of our projects", "a legacy giving page"], "data": ["donation totals", "Gift Aid amounts", "volunteer hours"]},
}
IND_ZH = {
    "电商": {"obj": ["商品详情页", "购物车", "优惠券", "库存数量", "订单确认短信", "退货申请", "直播间下单"], "sys": ["商城", "小程序商城", "分销系统"], "feat": ["拼团功能", "会员等级", "预售活动页", "满减凑单提示", "直播带货入口"], "data": ["订单金额", "库存数据", "退款金额"]},
    "医疗": {"obj": ["挂号页面", "检查报告查询", "医生排班", "处方打印", "缴费记录"], "sys": ["互联网医院", "预约挂号系统", "体检小程序"], "feat": ["就诊提醒推送", "电子发票下载", "家属代挂号", "科室导航图"], "data": ["号源数量", "缴费金额", "报告时间"]},
    "物流": {"obj": ["运单查询", "电子面单打印", "司机端登录", "签收拍照", "路线规划"], "sys": ["物流平台", "调度系统", "货主端"], "feat": ["批量下单导入", "到货短信通知", "运费计算器", "网点筛选"], "data": ["运费", "重量数据", "签收时间"]},
    "教育": {"obj": ["课表", "报名表", "成绩查询", "家长端登录", "直播课堂"], "sys": ["教务系统", "网课平台", "学校官网"], "feat": ["作业批改功能", "考勤导出", "家长会预约", "错题本"], "data": ["成绩", "出勤数据", "学费金额"]},
    "金融": {"obj": ["对账单下载", "实名认证上传", "转账页面", "短信验证", "收益曲线"], "sys": ["理财APP", "客户门户", "风控后台"], "feat": ["人脸识别登录", "季度报告PDF", "双人复核流程", "操作日志导出"], "data": ["余额", "利息", "汇率"]},
    "制造": {"obj": ["工单页面", "物料清单", "质检记录", "设备看板", "供应商登录"], "sys": ["MES系统", "经销商平台", "设备管理APP"], "feat": ["扫码领料", "交接班报表", "备件预警", "产能分析图"], "data": ["批次号", "不良率", "单价"]},
    "餐饮": {"obj": ["点餐页面", "外卖订单", "会员储值", "桌位预约", "菜单图片"], "sys": ["点餐小程序", "收银系统", "会员系统"], "feat": ["团购券核销", "生日优惠", "多门店库存", "排队叫号"], "data": ["营业额", "储值余额", "库存"]},
    "政务": {"obj": ["办事指南页面", "在线申报", "材料上传", "预约取号", "进度查询"], "sys": ["政务服务平台", "门户网站", "OA系统"], "feat": ["无障碍模式", "电子证照调用", "英文版办事指南", "短信办结通知"], "data": ["办件数量", "统计报表", "申报数据"]},
}
# Traditional Chinese: Taiwan wording and Hong Kong (Cantonese) wording share the vocabulary.
IND_HANT = {
    "零售": {"obj": ["商品頁", "購物車", "折價券", "庫存數量", "訂單確認信", "退貨申請"], "sys": ["網購平台", "官網商城", "會員App"], "feat": ["滿額贈", "會員分級", "預購頁面", "超商取貨"], "data": ["訂單金額", "庫存", "退款金額"]},
    "物業": {"obj": ["住戶登入", "報修表單", "管理費繳費", "設施預約", "公告頁"], "sys": ["住戶App", "物業管理系統", "客戶平台"], "feat": ["訪客登記", "包裹通知", "電子投票", "英文版介面"], "data": ["管理費", "報修數量", "繳費紀錄"]},
    "餐飲": {"obj": ["訂位系統", "外賣單", "會員積分", "餐牌圖片", "網上落單"], "sys": ["訂座平台", "POS系統", "會員系統"], "feat": ["生日優惠", "多分店庫存", "排隊攞飛", "電子禮券"], "data": ["營業額", "積分", "存貨"]},
    "科技": {"obj": ["登入頁", "報表匯出", "權限設定", "API 串接", "推播通知"], "sys": ["後台", "客戶平台", "內部系統"], "feat": ["單一登入", "審批流程", "數據儀表板", "多語系"], "data": ["報表數字", "使用量", "帳單金額"]},
}

# ============================================================== personas
EN_NAMES = ["Claire Whitfield", "Marcus Oyelaran", "Sinead Gallagher", "Pieter van Rijn", "Ayesha Siddiqui", "Tom Brennan", "Ingrid Halvorsen", "Luca Benedetti", "Natasha Volkova", "Ben Carter", "Fatima Zahra Idrissi", "Greg Lindqvist", "Yuki Tanabe", "Aoife Murphy", "Samuel Adeyemi", "Rosa Martins", "Derek Chow", "Emily Sanderson", "Arvind Rao", "Hélène Dubois", "Jakub Nowak", "Olu Bankole", "Megan Price", "Carlos Mendes", "Sarah Goldberg", "Wim Janssens", "Leila Haddad", "Peter O'Neill", "Anita Kovács", "Chris Fairweather"]
EN_ROLES = ["Managing Director", "Office Manager", "IT Coordinator", "Head of Marketing", "Operations Manager", "Finance Director", "Product Owner", "Practice Manager", "E-commerce Manager", "Programme Lead", "Facilities Manager", "Digital Officer", "Owner"]
EN_COMPANIES = ["Northgate", "Bluewater", "Copperfield", "Silverline", "Harbourview", "Oakridge", "Redkite", "Greenway", "Summit", "Thistle", "Beacon", "Riverside", "Kingfisher", "Ironbridge", "Maple"]
EN_SUFFIX = {"retail": ["Outfitters", "Home Store", "Living"], "health": ["Medical Centre", "Dental", "Physio Clinic"], "logistics": ["Freight", "Couriers", "Haulage"], "education": ["Academy", "College", "Learning Trust"], "finance": ["Capital", "Wealth Partners", "Credit Union"], "hospitality": ["Hotel", "Inns", "Bistro Group"], "manufacturing": ["Engineering", "Components", "Fabrication"], "nonprofit": ["Foundation", "Trust", "Community Project"]}
ZH_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
ZH_GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "晓东", "雨婷", "子涵", "浩然", "欣怡", "思琪", "宇航", "嘉怡", "俊杰", "梦瑶"]
HANT_GIVEN = ["家豪", "志偉", "淑芬", "美玲", "雅婷", "冠宇", "詠琪", "俊傑", "怡君", "建宏", "嘉欣", "偉強", "佩珊", "子軒", "凱文"]
ZH_ROLES = ["运营总监", "信息部", "市场经理", "行政主管", "财务", "总经理助理", "产品经理", "客服主管", "采购部", "IT负责人", "办公室主任"]
HANT_ROLES = ["行銷經理", "資訊部", "營運主管", "總經理特助", "採購", "IT 主管", "客服組長", "Marketing Manager"]
ZH_COMPANY_HEAD = ["华信", "博远", "天成", "新禾", "瑞丰", "汇通", "锦程", "东方", "嘉华", "远航", "恒信", "中科", "星辰", "海川"]
HANT_COMPANY_HEAD = ["宏達", "永豐", "國泰", "長榮", "新光", "和記", "太古", "恒隆", "嘉里", "大昌"]

# ============================================================== English banks
EN_GREET = ["Hi {us},", "Hello {us},", "Dear {us},", "Hi team,", "Hello,", "Hi all,", "Morning {us},", "{us},", "Good afternoon,", "Dear Sir/Madam,", "Hey {us}", ""]
EN_GREET_NONNATIVE = ["Dear {us},", "Dear Team,", "Hello Sir,", "Good day,", "Dear Mr. {us},", "Respected team,"]
EN_CLOSE = ["Thanks", "Thanks,", "Many thanks,", "Best,", "Regards,", "Kind regards,", "Cheers,", "Thank you,", "Speak soon,", "All the best,", "Best wishes,", "Ta,"]
EN_CLOSE_NONNATIVE = ["Thanks and regards,", "Thanking you,", "Waiting for your reply,", "Best Regard,", "With regards,"]
EN = {
    "issue": [
        "{obj} has stopped working - when we click it nothing happens at all.",
        "Since this morning {obj} shows an error: \"{err}\".",
        "Customers are telling us that {obj} won't load on their phones.",
        "We can't log in to the {sys}; it keeps saying the password is wrong even after a reset.",
        "The {data} on the {sys} are wrong - they don't match what we have in our accounting system.",
        "{obj} is extremely slow today, it takes more than a minute to open.",
        "Every time someone submits {obj} they get a blank white page.",
        "Our staff get logged out of the {sys} every few minutes, which makes it unusable.",
        "The link to {obj} in the footer gives a page not found.",
        "I think there's a bug in {obj}: it shows yesterday's {data} instead of today's.",
        "The {sys} has been down since about {time}. Nobody can work.",
        "{obj} crashes the app on Android as soon as you open it.",
        "We noticed that anyone can open {obj} without logging in, which worries me from a security point of view.",
        "The emails from {obj} are not arriving any more, neither for us nor for customers.",
        "Uploading a file to {obj} fails with \"{err}\" for anything over 2 MB.",
        "Half of the images on {obj} are broken since your last deployment.",
        "The numbers in the export of {obj} are duplicated - every row appears twice.",
        "The search in the {sys} returns nothing, even for products we know exist.",
        "Two-factor codes are arriving late or not at all, so people are locked out of the {sys}.",
        "Something went wrong with the last update: {obj} now shows prices without VAT.",
        "The {sys} is showing a certificate warning in every browser.",
        "We've been blocked: the {sys} says our account is suspended, but we've paid everything.",
        "The translation on {obj} is broken - half of it shows code like LABEL_SUBMIT.",
        "Payments on {obj} are failing with \"{err}\"; we've lost several orders today.",
        "You promised the {sys} would send a copy to our accounts inbox, and it doesn't.",
        "the {sys} is not working. again.",
        "{obj} broken??",
        "Getting \"{err}\" on {obj}, please help",
    ],
    "change_request": [
        "We'd like to add {feat} to the {sys}.",
        "Could you change {obj} so that it shows the {data} per month instead of per week?",
        "Please can we move the go-live to {when}? Our staff won't be ready before then.",
        "Is it possible to have {feat}? It wasn't in the original brief, so let us know the cost.",
        "We need the {sys} in French as well, for our Belgian customers.",
        "Would you be able to redesign {obj}? Our new brand guidelines are attached.",
        "Can we swap the order of the next two sprints and do {feat} first?",
        "Management wants {feat} added before launch - how much extra would that be?",
        "Please remove the phone number field from {obj}; we don't need it any more.",
        "We have to reduce the budget for the next phase; could you propose a smaller scope?",
        "Could {obj} send a copy to the customer as well as to us?",
        "I'd like the colours on {obj} to match the new logo - dark green instead of blue.",
        "We would like an extra report with the {data} grouped by region.",
        "Can you also build {feat}? Happy to discuss the timeline.",
        "Please rename \"Clients\" to \"Members\" everywhere in the {sys}.",
        "We've decided to add a second warehouse, so {obj} needs to let us pick the location.",
        "Could we push the delivery of phase two back by a month?",
        "Can the {sys} remember the last filter a user chose? That would save a lot of clicks.",
        "We'd like the reports to come out every Monday automatically rather than on request.",
        "We want to extend the contract to include {feat}.",
        "Could the {sys} show the {data} in euros as well as pounds?",
        "I need one more user role for our part-time staff, with fewer permissions.",
        "pls add {feat} when you can",
        "New idea: {feat}. Doable?",
    ],
    "feedback": [
        "The new {sys} looks fantastic, thank you all.",
        "Received, thanks.",
        "Noted, thank you for letting us know.",
        "Yes, that's fine by us.",
        "Thursday at 10 works, see you then.",
        "We've looked at the designs and we're happy with them - approved.",
        "Thanks for the demo yesterday, the team was impressed.",
        "To answer your question: the old accounts can be deleted.",
        "Great work on the launch, it went very smoothly.",
        "We're happy with the estimate, please go ahead.",
        "I've signed the proposal, it's attached.",
        "The training session was really useful, our staff feel much more confident now.",
        "Just to confirm, we'll send the content by Friday.",
        "Ok, sounds good.",
        "Our answer is yes to both questions.",
        "I'll be the main contact from now on; Julia has moved to another department.",
        "Honestly the new layout is a bit cluttered for my taste, but the team likes it, so let's keep it.",
        "Thanks for the invoice, it has been passed to accounts.",
        "Looks good to me 👍",
        "We had some good feedback from customers about {obj}.",
        "Agreed on all points from the call.",
        "Happy new year to the whole team, and thanks for a great collaboration.",
    ],
    "confirmation": [
        "That's fixed it, thanks a lot!",
        "Just tested again and {obj} works perfectly now.",
        "Confirmed - the error has gone and everything is back to normal.",
        "All working on our side now, thank you for sorting it out so quickly.",
        "Yes, I can log in again. Thanks!",
        "The {data} are correct now, we checked them against our own figures.",
        "Problem solved, you can close this.",
        "Great, the fix works. Our staff are happy again.",
        "We retested everything this morning and the bug is gone.",
        "The outage seems to be over, the {sys} has been fine since lunchtime.",
        "Attached is the signed acceptance form; all the defects from the first round are resolved.",
        "We've completed UAT and are happy to sign off. Thanks for fixing the issues we found.",
        "Working now 🙂",
        "yep that did the trick",
        "Perfect, the page loads in two seconds now instead of a minute.",
        "Thank you, the emails are coming through again.",
    ],
    "confirmation_negative": [
        "Unfortunately it's still not working - same error as before.",
        "The fix didn't help, {obj} still fails for us.",
        "It worked for an hour and now the error is back.",
        "Now {obj} works, but the {data} are wrong since the fix.",
        "Still broken on iPhone, it only works on desktop.",
    ],
    "status": [
        "How are things going with {milestone}?",
        "Any news on {milestone}? We haven't heard anything for a while.",
        "Could you give me a quick update on where we are?",
        "Is {milestone} still on track for {when}?",
        "I'm getting a bit worried - we were promised {milestone} two weeks ago and there's no sign of it.",
        "Frankly we're disappointed with the communication lately; we only find out about delays when we chase.",
        "Just checking in - is there anything you need from us to keep things moving?",
        "Our board meets next week and I need to tell them how {milestone} is progressing.",
        "Can you send me a short status summary I can share internally?",
        "We feel the project has lost momentum. No new requests from us, but we'd like to see progress.",
        "What's the current ETA for {milestone}?",
        "Thanks for the status report, good to see things moving.",
        "We appreciate the weekly updates, they really help us plan.",
        "It's frustrating that the deadline has moved three times now without any explanation.",
        "Where are we at with this?",
        "any update?",
    ],
    "long_feedback": [
        "I wanted to take a moment to summarise our view of the project after the first quarter.",
        "Overall the delivery has met our expectations, and the team has been responsive and professional.",
        "The reporting module in particular has saved our finance team several hours a week.",
        "We have reviewed the latest release against the agreed acceptance criteria and found no outstanding issues.",
        "Our internal stakeholders have expressed their satisfaction with the quality of the work.",
        "We have no changes to the plan at this stage and are content with the current priorities.",
        "The invoice for the period has been approved and will be paid within the usual terms.",
        "For the record, the steering group confirmed that the project remains within budget and on schedule.",
        "We look forward to the next phase and to continuing what has been a productive partnership.",
        "I would like to extend our thanks to everyone involved for their hard work over the past months.",
    ],
    "long_issue": [
        "I am writing to bring to your attention a number of serious problems we have experienced with the {sys} over the past week.",
        "On several occasions the service was unavailable during business hours, which affected our customers directly.",
        "In addition, the {data} shown in the monthly report do not reconcile with our ledger, which has delayed our month-end close.",
        "Our auditors have also identified that user passwords are not being hashed, which we regard as a critical security defect.",
        "The attached spreadsheet lists each incident with the time, the affected function and the error observed.",
        "We would ask you to investigate these faults as a matter of urgency and to provide a root cause analysis.",
        "Please confirm the corrective actions and the date by which they will be in place.",
    ],
    "long_change": [
        "Following our strategic review, I am writing to set out a number of changes we wish to make to the agreed scope.",
        "Firstly, we would like the {sys} to support {feat}, which has become a priority for the business.",
        "Secondly, we propose moving the launch to {when}, to align with our marketing campaign.",
        "Thirdly, the budget for the remaining work will need to be revisited in light of these additions.",
        "We recognise that these changes will have an impact on your planning and would welcome a revised proposal.",
        "Please let us know whether a meeting would be helpful to go through the details.",
    ],
}
EN_CONTEXT = ["", "", "", "Hope you're well.", "Sorry to bother you on a Friday.", "Quick one from me.", "Following up on our call earlier.", "I hope this email finds you well.", "Writing on behalf of our director.", "As mentioned on the phone,"]
EN_DETAIL = {
    "issue": ["", "", "Screenshot attached.", "It happens in Chrome and Safari.", "This is affecting all of our branches.", "Could you look at this today please?", "We haven't changed anything on our side.", "Please treat this as urgent.", "Error reference: {ref}.", "Tried it on two laptops, same result."],
    "change_request": ["", "", "No rush, sometime next month is fine.", "Let me know what it would cost.", "Mock-up attached.", "Happy to jump on a call to explain.", "Please include it in the next estimate.", "This came from our CEO, so it's fairly important."],
    "feedback": ["", "", "", "Have a good weekend.", "Speak next week.", "Keep up the good work."],
}
EN_ERR = ["Error 500", "Something went wrong, please try again later", "Session expired", "Invalid request", "NullReferenceException", "Access denied", "502 Bad Gateway", "Unexpected token < in JSON", "Payment declined (code 05)", "Timeout"]
EN_MILESTONE = ["the new booking flow", "phase 2", "the mobile app", "the CRM integration", "the redesign", "the migration", "the reporting dashboard", "release 3.1"]
EN_WHEN = ["the end of the month", "15 March", "next Tuesday", "early January", "after Easter", "the 30th", "mid-September"]
EN_US = ["Daniel", "Anna", "Mei", "Raj", "Laura", "Ollie", "Nina", "Sam"]
EN_TWO_CONNECT = ["Also,", "One more thing:", "Separately,", "And while I have you,", "PS", "On another note,", "Oh and"]
EN_URGENT = ["URGENT: ", "Most important: ", "The main thing: ", "First and most urgent - ", "Priority: "]
EN_MINOR = ["(not urgent)", "- no rush on that one", "but that can wait", "- low priority", "whenever you have time"]
DISCLAIMERS_EN = [
    "This message and any attachment are intended solely for the addressee and may contain confidential information. If you have received it in error, please delete it and tell us.",
    "Please consider the environment before printing this email.",
    "{company} is registered in England and Wales. Registered office: 1 High Street. Emails are monitored for security purposes.",
    "DISCLAIMER: The information in this e-mail is private and confidential. Views expressed are those of the author and not necessarily those of the company.",
]

# ============================================================== Chinese banks (Simplified)
ZH_GREET = ["{us}你好，", "{us}您好：", "您好，", "各位好，", "Hi {us}，", "你好！", "{us}：", "", "", "李工好，"]
ZH_CLOSE = ["谢谢", "谢谢！", "辛苦了", "麻烦了", "多谢", "祝好", "此致\n敬礼", "盼复", "感谢", "有劳"]
ZH = {
    "issue": [
        "{obj}点了没反应，一直在转圈。",
        "从今天上午开始，{obj}一打开就提示\"{err}\"。",
        "好多用户反馈{obj}加载不出来，白屏。",
        "{sys}登不上去了，输入正确的密码也提示密码错误。",
        "{sys}上的{data}和我们财务那边对不上，差了不少。",
        "{obj}现在特别慢，一个页面要等一分多钟。",
        "提交{obj}以后页面直接报错，数据也没保存。",
        "员工用{sys}的时候隔几分钟就被踢出来，根本没法用。",
        "{obj}的链接点进去是404。",
        "{obj}显示的还是昨天的{data}，应该是有bug。",
        "{sys}从{time}左右就打不开了，大家都没法干活。",
        "安卓手机上一打开{obj}就闪退。",
        "我们发现不登录也能直接访问{obj}，这个有安全隐患吧？",
        "{obj}的通知短信这两天都收不到了。",
        "上传图片到{obj}总是失败，提示\"{err}\"。",
        "上次更新以后{obj}上的图片一半都裂了。",
        "导出的{data}每一行都重复了两遍。",
        "{sys}里搜索什么都搜不到，明明有数据。",
        "付款的时候一直提示\"{err}\"，今天已经丢了好几单了。",
        "合同里说好的自动备份根本没有生效，昨天误删的数据找不回来。",
        "{obj}又坏了",
        "{sys}挂了？",
        "急！{obj}用不了",
    ],
    "change_request": [
        "我们想在{sys}里加上{feat}。",
        "{obj}能不能改成按月显示{data}，现在按周看不方便。",
        "上线时间能不能推到{when}？我们这边人员还没培训完。",
        "想增加{feat}，这个不在原来的需求里，麻烦报个价。",
        "{sys}需要出一个英文版，给海外客户用。",
        "{obj}的设计想重新做一下，新的VI规范在附件。",
        "下两个迭代的顺序调换一下，先做{feat}。",
        "领导要求上线前加上{feat}，需要加多少钱？",
        "{obj}里的电话号码字段去掉吧，用不上了。",
        "下一期预算要砍一部分，麻烦出个缩减版的方案。",
        "{obj}提交后能不能同时给客户发一份？",
        "{obj}的主色调改成深绿色，跟新logo一致。",
        "再加一张按区域汇总{data}的报表。",
        "能不能顺便把{feat}也做了？时间可以商量。",
        "系统里所有的\"客户\"都改成\"会员\"。",
        "二期交付能不能往后延一个月？",
        "希望{sys}能记住用户上次选的筛选条件。",
        "报表改成每周一自动发送，不用每次手动导出。",
        "合同范围想扩大一下，把{feat}包括进来。",
        "再加一个兼职员工的角色，权限少一点。",
        "加个{feat}呗",
    ],
    "feedback": [
        "新版{sys}很漂亮，大家都说好用，谢谢！",
        "收到，谢谢。",
        "好的，知道了。",
        "可以，没问题。",
        "周四上午十点可以，到时候见。",
        "设计稿看过了，没意见，通过。",
        "昨天的演示很好，领导很满意。",
        "回复一下你们的问题：旧账号可以删掉。",
        "上线很顺利，辛苦各位！",
        "报价我们认可，可以开始了。",
        "合同已经盖章，扫描件在附件。",
        "培训很有帮助，同事们现在都会用了。",
        "确认一下，资料我们周五前发过来。",
        "OK",
        "两个问题的答案都是\"是\"。",
        "以后这个项目由我来对接，小刘调到别的部门了。",
        "说实话新界面有点花，不过大家喜欢就先这样吧。",
        "发票已经转给财务了。",
        "👍",
        "客户对{obj}的反馈挺好的。",
        "电话里说的几点都同意。",
        "新年快乐，感谢一年来的合作！",
    ],
    "confirmation": [
        "好了，谢谢！",
        "刚又试了一下，{obj}已经正常了。",
        "确认已修复，错误没有再出现。",
        "我们这边都恢复正常了，感谢这么快处理。",
        "能登录了，谢谢！",
        "{data}现在对了，我们核对过了。",
        "问题解决了，可以关单了。",
        "修复有效，同事们都说没问题了。",
        "今天上午全部复测了一遍，bug都没了。",
        "故障应该已经过去了，{sys}中午以后一直正常。",
        "验收单已签字，附件请查收，第一轮提的缺陷都已解决。",
        "UAT已经完成，我们同意验收，感谢修复了测试中发现的问题。",
        "可以了😊",
        "嗯嗯，好了",
        "页面现在两秒就打开了，之前要一分钟，赞！",
        "短信又能收到了，谢谢。",
    ],
    "confirmation_negative": [
        "还是不行，和之前一样报错。",
        "修复没用，{obj}还是失败。",
        "好了一个小时又开始报错了。",
        "{obj}现在能用了，但是{data}又不对了。",
        "苹果手机上还是坏的，只有电脑上正常。",
    ],
    "status": [
        "{milestone}进展怎么样了？",
        "{milestone}有消息吗？好久没动静了。",
        "麻烦同步一下目前的进度。",
        "{milestone}还能在{when}完成吗？",
        "有点担心，{milestone}两周前就说好了，现在还没看到。",
        "最近沟通不太顺畅，每次延期都是我们追问才知道。",
        "问一下，还需要我们这边提供什么吗？",
        "下周要跟董事会汇报，想了解下{milestone}的进展。",
        "能不能发个简短的进度说明，我内部转一下。",
        "感觉项目推进有点慢，我们没有新需求，就是希望快一点。",
        "{milestone}现在预计什么时候能好？",
        "进度报告收到了，看到有进展很好。",
        "每周的进度同步很有用，谢谢。",
        "截止时间已经改了三次了，也没有解释，很让人失望。",
        "现在到哪一步了？",
        "有更新吗",
    ],
    "long_feedback": [
        "现就项目第一季度的情况向贵司反馈如下。",
        "总体而言，项目交付符合我方预期，团队响应及时、工作专业。",
        "其中报表模块每周为我们财务部门节省了大量时间。",
        "我方已按照验收标准对最新版本进行了检查，未发现遗留问题。",
        "公司各相关部门对工作质量均表示满意。",
        "目前我方对计划没有调整意见，对现有优先级安排无异议。",
        "本期款项已审批通过，将按合同约定时间支付。",
        "特此说明，项目领导小组确认项目预算和进度均在控制范围内。",
        "期待下一阶段继续合作。",
    ],
    "long_issue": [
        "近一周来{sys}出现了多次严重问题，现正式向贵司反映。",
        "系统在工作时间多次无法访问，直接影响了我方客户。",
        "此外，月报中的{data}与我方账目不符，导致月末结账延误。",
        "审计人员还发现用户密码未加密存储，属于严重安全缺陷。",
        "附件表格列出了每次故障的时间、影响功能及错误信息。",
        "请贵司尽快排查上述故障，并提供根本原因分析报告。",
        "请书面确认整改措施及完成时间。",
    ],
    "long_change": [
        "经我方战略评审，现就项目范围提出如下调整。",
        "一、{sys}需增加{feat}，该功能已成为业务优先事项。",
        "二、上线时间调整至{when}，以配合市场推广活动。",
        "三、因上述新增内容，后续费用需要重新核定。",
        "我方理解上述调整会影响贵司的工作安排，请提供修订后的方案。",
        "如需当面沟通，请告知合适时间。",
    ],
}
ZH_DETAIL = {
    "issue": ["", "", "截图见附件。", "谷歌和360浏览器都一样。", "所有门店都有这个问题。", "今天能处理吗？", "我们这边什么都没改过。", "比较急，麻烦优先处理。", "错误编号：{ref}。", "换了两台电脑都不行。"],
    "change_request": ["", "", "不急，下个月做都行。", "麻烦报个价。", "原型图在附件。", "可以电话沟通一下细节。", "请放到下次报价里。", "这是老板提的，比较重要。"],
    "feedback": ["", "", "", "周末愉快。", "下周聊。"],
}
ZH_ERR = ["系统繁忙，请稍后再试", "网络异常", "登录已过期", "参数错误", "服务器开小差了", "无权限访问", "502 Bad Gateway", "支付失败(错误码:40004)", "请求超时"]
ZH_MILESTONE = ["新版预约流程", "二期", "APP", "CRM对接", "改版", "数据迁移", "数据大屏", "3.1版本"]
ZH_WHEN = ["月底", "3月15号", "下周二", "元旦前", "五一之后", "30号", "9月中旬"]
ZH_US = ["小王", "陈工", "李经理", "张总", "小林", "周老师", "Ivy"]
ZH_TWO_CONNECT = ["另外，", "还有一件事：", "顺便说一下，", "对了，", "PS：", "另："]
ZH_URGENT = ["【紧急】", "最重要的是：", "先说急的：", "重点：", "急！"]
ZH_MINOR = ["（不急）", "，这个不着急", "，有空再弄", "，优先级低"]
DISCLAIMERS_ZH = [
    "本邮件可能包含保密信息，仅供指定收件人使用。如您并非指定收件人，请立即删除并告知发件人。",
    "温馨提示：打印本邮件前请考虑环保。",
    "免责声明：本邮件内容仅代表发件人个人观点。",
]

# ============================================================== Traditional banks (TW and HK)
HANT_GREET = ["{us}您好，", "{us}你好，", "Hi {us}，", "各位好，", "您好：", "", "{us}：", "哈囉 {us}，"]
HANT_CLOSE = ["謝謝", "感謝", "麻煩了", "唔該", "唔該晒", "Thanks", "敬祝 商祺", "祝 順心", "辛苦了"]
HANT = {
    "issue": [
        "{obj}按了沒反應，一直轉圈圈。",
        "今天早上開始，{obj}一打開就出現「{err}」。",
        "很多客人反映{obj}載入不出來。",
        "{sys}登入不了，密碼正確還是說錯誤。",
        "{sys}上的{data}跟我們帳上對不起來。",
        "{obj}慢到不行，一頁要等超過一分鐘。",
        "{obj}一送出就報錯，資料也沒存到。",
        "{obj}條link撳入去係404。",
        "{sys}由{time}開始已經開唔到，同事全部做唔到嘢。",
        "Android 手機一開{obj}就閃退。",
        "我們發現不用登入也能看到{obj}，有資安疑慮。",
        "{obj}嘅通知 SMS 呢兩日都收唔到。",
        "上傳檔案到{obj}一直失敗，顯示「{err}」。",
        "匯出的{data}每一筆都重複兩次。",
        "付款時一直出現「{err}」，今天已經掉了好幾張單。",
        "{obj}又壞了",
        "{sys}死咗？",
    ],
    "change_request": [
        "我們想在{sys}加上{feat}。",
        "{obj}可以改成按月顯示{data}嗎？",
        "上線時間可以延到{when}嗎？同事還沒受訓完。",
        "想加{feat}，這不在原本需求內，麻煩報價。",
        "{sys}要出英文版，俾海外客用。",
        "{obj}的設計想重做，新的 CI 規範在附件。",
        "下兩個 sprint 的順序對調，先做{feat}。",
        "老闆要求上線前加{feat}，要加幾多錢？",
        "{obj}的電話欄位拿掉吧，用不到了。",
        "下一期預算要縮減，請提一個精簡版方案。",
        "{obj}主色改成深綠色，配合新 logo。",
        "可唔可以順便做埋{feat}？時間可以再傾。",
        "二期交付可以往後延一個月嗎？",
        "報表改成每週一自動寄出。",
        "加個{feat}得唔得？",
    ],
    "feedback": [
        "新版{sys}很漂亮，大家都說好用，感謝！",
        "收到，謝謝。",
        "好的，了解。",
        "可以，沒問題。",
        "星期四上午十點OK，到時見。",
        "設計稿看過了，沒意見，通過。",
        "琴日個 demo 好好，老闆好滿意。",
        "回覆你們的問題：舊帳號可以刪除。",
        "上線很順利，辛苦各位！",
        "報價我們OK，可以開始。",
        "合約已用印，掃描檔在附件。",
        "收到，唔該晒。",
        "👍",
        "電話中講的幾點都同意。",
    ],
    "confirmation": [
        "好了，謝謝！",
        "剛剛再試一次，{obj}已經正常了。",
        "確認已修好，錯誤沒有再出現。",
        "我哋呢邊已經回復正常，多謝咁快處理。",
        "可以登入了，感謝！",
        "{data}現在正確了，我們核對過。",
        "問題解決了，可以結案。",
        "驗收單已簽名，請見附件，第一輪提的缺陷都已解決。",
        "UAT 完成，我們同意驗收，謝謝修好測試中的問題。",
        "得咗，thx",
    ],
    "confirmation_negative": [
        "還是不行，跟之前一樣的錯誤。",
        "修正沒有用，{obj}還是失敗。",
        "好咗一個鐘又開始出錯。",
    ],
    "status": [
        "{milestone}進度如何？",
        "{milestone}有冇消息？好耐冇聽到。",
        "麻煩更新一下目前進度。",
        "{milestone}還趕得上{when}嗎？",
        "有點擔心，{milestone}兩週前就該好了，到現在還沒看到。",
        "最近溝通不太順，每次延誤都是我們問了才知道。",
        "下週要跟董事會報告，想了解{milestone}的進度。",
        "感覺進度有點慢，我們沒有新需求，只是希望快一點。",
        "依家去到邊一步？",
        "進度報告收到，有進展很好。",
    ],
}
HANT_DETAIL = {
    "issue": ["", "", "截圖如附件。", "Chrome 跟 Safari 都一樣。", "全部分店都有這個問題。", "今日可唔可以處理？", "我們這邊沒有改任何東西。"],
    "change_request": ["", "", "不急，下個月都可以。", "麻煩報價。", "草圖在附件。"],
    "feedback": ["", "", "週末愉快。"],
}
HANT_MILESTONE = ["新版訂位流程", "二期", "App", "CRM 串接", "改版", "資料轉移", "3.1 版"]
HANT_WHEN = ["月底", "3月15號", "下週二", "農曆年前", "30號", "9月中"]
HANT_US = ["阿傑", "陳經理", "Vicky", "小林", "Ken", "王先生"]

# ============================================================== code-switched (mixed) banks
MIXED = {
    "issue": [
        "{obj} 一直 loading，进不去。", "Production 上 {obj} 报 {err_en}，urgent！", "{sys} login 唔到，話 password 錯。",
        "今天的 {data} 和 finance 那边 mismatch。", "App 一开 {obj} 就 crash。", "{obj} 的 link 是 404，麻烦 check 一下。",
        "Server 好似 down 咗，成個 {sys} 用唔到。", "Upload 去 {obj} 一直 fail，size 小都不行。",
    ],
    "change_request": [
        "想加一个 {feat_en} 的 function，可以 quote 一下吗？", "Go-live 可唔可以 push 到 {when_zh}？", "{obj} 的 layout 想改一下，mockup 在 attachment。",
        "Boss 要求加 {feat_en}，不在原来 scope 里。", "可以把 report 改成 weekly auto send 吗？", "想 reprioritise 一下，先做 {feat_en}。",
        "{sys} 要支持 English version。",
    ],
    "feedback": [
        "收到，thanks！", "Demo 很 nice，老板很满意。", "OK 没问题，go ahead。", "Meeting 星期四 10am OK。", "Design approved 👍",
        "Quotation 我们 accept 了，合同已签。", "Training 很有用，thanks team。", "Noted，唔該。",
    ],
    "confirmation": [
        "Fixed 了，thanks！", "再 test 过，{obj} 已经 OK。", "确认 bug 已经 solved，可以 close ticket。", "而家 login 到喇，thx。",
        "UAT pass 咗，sign-off form 喺 attachment。", "Outage 已经 resolved，系统正常了，thanks for the quick fix。",
    ],
    "confirmation_negative": ["还是不 work，same error。", "Fix 咗之后仲係 fail。"],
    "status": [
        "{milestone} 而家 progress 点？", "有冇 update？好耐冇消息。", "{milestone} 还能 on time 吗？", "最近 communication 不太好，delay 都没人 inform 我们。",
        "可以发个 status update 给我吗？我要 report 给 management。",
    ],
}
FEAT_EN_SHORT = ["dark mode", "export to Excel", "push notification", "multi-language", "SSO", "dashboard", "e-invoice", "QR code check-in"]
ERR_EN_SHORT = ["500 error", "timeout", "null pointer", "403 Forbidden", "502"]

# ============================================================== noise written by people (none)
NOISE_EN = [
    ("Invoice {ref} - payment overdue", "Hello,\n\nPlease find attached invoice {ref} which is now 14 days overdue. Kindly arrange payment to the account in the attachment today to avoid suspension of services.\n\nAccounts Receivable"),
    ("Re: {company} website proposal", "Hi,\n\nFollowing up on my previous email. Our agency can redesign your website and get you more leads from Google. We have worked with over 500 businesses like {company}. Can I book 10 minutes in your calendar?\n\nThanks,\nJason"),
    ("Your password expires today", "Dear {first},\n\nThe password for your account {addr} expires today. Keep your current password by confirming it here: {link}\n\nIT Service Desk"),
    ("Confidential request", "{first},\n\nI need your help with an urgent wire transfer for an acquisition we are finalising. Please keep this confidential. Are you available now? I will send the details.\n\nRegards,\n{boss}"),
    ("DocuSign: {company} agreement ready for signature", "{boss} sent you a document to review and sign.\n\nREVIEW DOCUMENT: {link}\n\nPlease complete within 24 hours."),
    ("Shared file: Q{q} payroll.xlsx", "{boss} has shared a file with you on OneDrive.\n\nOpen: {link}\n\nThis link will work for anyone."),
    ("Business proposal", "Dear friend,\n\nI am a banker and I have a proposal of mutual benefit concerning an unclaimed deposit of $4.5 million. Reply for more details.\n\nMr. Williams"),
    ("Re: order", "Hi, we are a manufacturer of LED lights, custom logo available, MOQ 100 pcs, factory price. Catalogue attached. Best regards, Lily"),
    ("Quick question about your SEO", "Hey there! I noticed {company} is missing out on traffic. We build high-authority backlinks. Interested in a free trial?"),
    ("Your parcel could not be delivered", "We tried to deliver your parcel today but nobody was home. Pay the redelivery fee of £1.99 here: {link}"),
    ("Payment details update", "Dear customer,\n\nWe have changed our bank. Please update your records and send all future payments to the new account details attached. Do not use the old account.\n\nFinance team"),
    ("Webinar invitation: AI for your business", "Join our free webinar next Thursday and learn how AI can cut your costs by 40%. Register now: {link}"),
    ("Congratulations, you've won", "Your email address won the monthly draw! Claim your iPhone 17 by completing a short survey: {link}"),
    ("Security alert", "We detected an unusual sign-in to your Microsoft 365 account from Russia. If this wasn't you, secure your account immediately: {link}"),
]
NOISE_ZH = [
    ("发票", "您好，本公司有各类增值税专用发票可代开，税点低，验证后付款，有需要请联系 微信 {phone}。"),
    ("关于{company}网站优化的建议", "您好，我们是专业网络推广公司，可以帮{company}做百度和抖音推广，保证效果，首月免费试用，请回复联系方式。"),
    ("【通知】您的邮箱密码即将过期", "尊敬的用户：\n您的邮箱 {addr} 密码今日过期，请点击以下链接保留原密码：{link}\n信息中心"),
    ("紧急", "{first}，在不在？我在外面开会，有个紧急的款要付给新合作方，你先把手上的事放一下，回我一下，具体我发给你。\n{boss}"),
    ("{company}合同待签署", "{boss}向您发送了一份文件，请在24小时内登录查看并签署：{link}"),
    ("工资表", "{boss}与您共享了文件《第{q}季度工资明细.xlsx》，点击查看：{link}"),
    ("快递派送失败通知", "您的快递因地址不详派送失败，请点击链接补充地址并支付1.5元重新派送费：{link}"),
    ("财务通知：银行账户变更", "各合作单位：因审计需要，我司收款账户已变更，请此后将款项汇入附件中的新账户，旧账户停止使用。"),
    ("免费领取", "恭喜！您已获得本月幸运用户资格，免费领取精美礼品一份，请填写问卷：{link}"),
    ("回复：采购询价", "老板好，我们工厂专业生产办公家具，价格优惠，支持定制，产品目录见附件，欢迎来电。"),
    ("培训邀请", "【企业管理实战课程】总经理必修课，名额有限，报名电话 {phone}，详情：{link}"),
    ("安全提醒", "您的账号在异地登录，如非本人操作请立即点击链接修改密码：{link}"),
]
NOISE_HANT = [
    ("發票", "您好，本公司代開各類發票，點數優惠，有需要請加 LINE：{phone}。"),
    ("【通知】您的信箱密碼即將過期", "親愛的用戶：您的信箱 {addr} 密碼今日到期，請點選以下連結保留原密碼：{link}"),
    ("急", "{first}，你喺唔喺度？我開緊會，有筆數要即刻過去新供應商，你覆我先，詳情我send俾你。\n{boss}"),
    ("包裹無法投遞", "您的包裹因地址不完整無法投遞，請點擊連結補填地址並支付運費 NT$30：{link}"),
    ("網站推廣", "您好，我們專做 Google 關鍵字排名，保證首頁，首月免費，有興趣請回信。"),
    ("合約待簽署", "{boss} 傳送了一份文件給您，請於 24 小時內登入簽署：{link}"),
]
ROBOT_NOISE = [
    ("Automatic reply: {subject}", "Thank you for your email. I am currently on leave and will respond on my return.", [("Auto-Submitted", "auto-replied")]),
    ("自动回复: {subject}", "您的邮件已收到，我目前外出，回来后会尽快回复。", [("Auto-Submitted", "auto-replied"), ("X-Autoreply", "yes")]),
    ("Delivery Status Notification (Failure)", "Delivery to the following recipient failed permanently:\n\n    someone@client.example\n\nTechnical details of permanent failure: 550 5.1.1 The email account does not exist.", [("Auto-Submitted", "auto-generated")]),
    ("Weekly digest from Example Forum", "Here are this week's top posts. You are receiving this because you subscribed.", [("List-Id", "<digest.forum.example>"), ("List-Unsubscribe", "<https://forum.example/unsub>"), ("Precedence", "list")]),
    ("系统通知：您有一条新的审批", "您有一条待审批的请假申请，请登录OA系统处理。此邮件由系统自动发送，请勿回复。", [("Auto-Submitted", "auto-generated")]),
]

# ============================================================== quoted history (what was said before)
PRIOR_EN = {
    "bug": "Hi,\n\n{obj} isn't working - we get \"{err}\" when we try. Can you have a look urgently?\n\nThanks",
    "fixed": "Hello,\n\nWe've deployed a fix for the problem with {obj}; the error should no longer appear. Please let us know if you still see it.\n\nBest regards,\nThe project team",
    "estimate": "Hi,\n\nAttached is our estimate for {feat}: 6 days of work. Let us know if you'd like us to go ahead.",
    "question": "Hi,\n\nTwo quick questions: should the old records be archived, and who signs off the designs on your side?",
    "update": "Hi,\n\nThis week we finished the payment integration and started on the reports. Next up: testing.",
}
PRIOR_ZH = {
    "bug": "你好，{obj}用不了，一直提示\"{err}\"，麻烦紧急看一下。",
    "fixed": "您好，{obj}的问题已经修复上线，报错应该不会再出现了，如还有问题请告诉我们。",
    "estimate": "您好，{feat}的评估结果是6个工作日，附件是报价单，确认后我们安排开发。",
    "question": "您好，想确认两个问题：旧数据要不要归档？设计稿由哪位签字确认？",
    "update": "本周完成了支付对接，已经开始做报表，下周进入测试。",
}
PRIOR_HANT = {
    "bug": "您好，{obj}無法使用，一直出現「{err}」，麻煩盡快處理。",
    "fixed": "您好，{obj}的問題已修正上線，錯誤應該不會再出現，如仍有問題請告知。",
    "estimate": "您好，{feat}評估需要6個工作天，報價單如附件，確認後即安排開發。",
    "question": "您好，想確認兩件事：舊資料要不要封存？設計稿由哪位簽核？",
    "update": "本週完成金流串接，已開始做報表，下週進入測試。",
}
AGENCY_PEOPLE = [("Daniel Price", "daniel@agency.example"), ("Anna Kowalski", "anna.k@agency.example"), ("李明", "liming@agency.example"), ("Mei Chen", "mei@agency.example")]


# ============================================================== quoting styles of mail programs
def _arrow(text: str, mark: str = "> ") -> str:
    return "\n".join((mark + line).rstrip() for line in text.split("\n"))


def q_gmail(who, text, rng, lang):
    if lang == "en" or rng.random() < 0.4:
        head = f"On {rng.choice(['Mon', 'Tue', 'Wed', 'Thu', 'Fri'])}, {rng.randrange(1, 29)} {rng.choice(['Jan', 'Feb', 'Mar', 'Oct', 'Nov'])} 2026 at {rng.randrange(8, 19):02d}:{rng.randrange(60):02d}, {who[0]} <{who[1]}> wrote:"
    else:
        head = f"{who[0]} <{who[1]}> 于2026年{rng.randrange(1, 13)}月{rng.randrange(1, 29)}日周{rng.choice('一二三四五')} {rng.randrange(8, 19)}:{rng.randrange(60):02d}写道："
    return f"{head}\n\n{_arrow(text)}"


def q_outlook(who, text, rng, lang):
    keys = {"en": ("From", "Sent", "To", "Subject"), "zh-Hans": ("发件人", "发送时间", "收件人", "主题"), "zh-Hant": ("寄件者", "寄件日期", "收件者", "主旨")}
    k = keys.get(lang, keys["en" if rng.random() < 0.5 else "zh-Hans"])
    line = "_" * 32 if rng.random() < 0.5 else "-----Original Message-----"
    return f"{line}\n{k[0]}: {who[0]} <{who[1]}>\n{k[1]}: {rng.randrange(1, 29)}/{rng.randrange(1, 13)}/2026 {rng.randrange(8, 19)}:{rng.randrange(60):02d}\n{k[2]}: {rng.choice(['team@agency.example', 'Project Team'])}\n{k[3]}: project\n\n{text}"


def q_apple(who, text, rng, lang):
    return f"> On {rng.randrange(1, 29)} Oct 2026, at {rng.randrange(8, 19)}:{rng.randrange(60):02d}, {who[0]} <{who[1]}> wrote:\n> \n{_arrow(text)}"


def q_iphone(who, text, rng, lang):
    footer = "Sent from my iPhone" if lang == "en" else rng.choice(["发自我的iPhone", "從我的 iPhone 傳送", "Sent from my iPhone"])
    if lang == "en":
        head = f"> On Oct {rng.randrange(1, 29)}, 2026, at {rng.randrange(1, 12)}:{rng.randrange(60):02d} PM, {who[0]} <{who[1]}> wrote:"
    else:
        head = f"> 在 2026年10月{rng.randrange(1, 29)}日，下午{rng.randrange(1, 12)}:{rng.randrange(60):02d}，{who[0]} <{who[1]}> 写道："
    return f"{footer}\n\n{head}\n> \n{_arrow(text)}"


def q_qq(who, text, rng, lang):
    mark = "原始邮件" if lang != "en" or rng.random() < 0.5 else "Original"
    return (f"------------------ {mark} ------------------\n发件人: \"{who[0]}\"<{who[1]}>;\n"
            f"发送时间: 2026年10月{rng.randrange(1, 29)}日(星期{rng.choice('一二三四五')}) 下午{rng.randrange(1, 6)}:{rng.randrange(60):02d}\n"
            f"收件人: \"team\"<team@agency.example>;\n主题: Re: project\n\n{text}")


def q_foxmail(who, text, rng, lang):
    return (f"{who[1]}\n\nFrom: {who[0]}\nDate: 2026-10-{rng.randrange(10, 29)} {rng.randrange(8, 19)}:{rng.randrange(60):02d}\n"
            f"To: team@agency.example\nSubject: project\n{text}")


def q_163(who, text, rng, lang):
    head = f"在 2026-10-{rng.randrange(10, 29)} {rng.randrange(8, 19)}:{rng.randrange(60):02d}:{rng.randrange(60):02d}，\"{who[0]}\" <{who[1]}> 写道："
    return f"{head}\n{_arrow(text, '>')}"


def q_yahoo(who, text, rng, lang):
    return f"On Friday, 9 October 2026, {rng.randrange(8, 12)}:{rng.randrange(60):02d}:00 BST, {who[0]} <{who[1]}> wrote:\n\n{_arrow(text)}"


def q_thunderbird(who, text, rng, lang):
    return f"On 10/{rng.randrange(10, 29)}/2026 {rng.randrange(8, 19)}:{rng.randrange(60):02d}, {who[0]} wrote:\n{_arrow(text)}"


def q_forward(who, text, rng, lang):
    head = "---------- Forwarded message ---------" if rng.random() < 0.6 else "-------- 转发邮件信息 --------"
    return f"{head}\nFrom: {who[0]} <{who[1]}>\nDate: Tue, Oct {rng.randrange(1, 29)}, 2026 at 9:{rng.randrange(60):02d} AM\nSubject: project\nTo: <team@agency.example>\n\n{text}"


QUOTERS = {
    "en": [q_gmail, q_outlook, q_apple, q_iphone, q_yahoo, q_thunderbird, q_qq],
    "zh-Hans": [q_qq, q_foxmail, q_163, q_outlook, q_iphone, q_gmail],
    "zh-Hant": [q_outlook, q_gmail, q_iphone, q_qq, q_163],
    "mixed": [q_gmail, q_outlook, q_qq, q_iphone, q_foxmail],
}


# ============================================================== assembling
def ascii_local(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", ".").replace("'", "") or "client"


class Persona:
    def __init__(self, rng: Random, lang: str) -> None:
        self.lang = lang
        if lang == "en":
            self.industry = rng.choice(list(IND_EN))
            self.name = rng.choice(EN_NAMES)
            self.role = rng.choice(EN_ROLES)
            self.company = f"{rng.choice(EN_COMPANIES)} {rng.choice(EN_SUFFIX[self.industry])}"
            self.nonnative = rng.random() < 0.25
            local = ascii_local(self.name.split()[0])
        elif lang == "zh-Hant":
            self.industry = rng.choice(list(IND_HANT))
            self.name = rng.choice(ZH_SURNAMES[:60]) + rng.choice(HANT_GIVEN)
            self.role = rng.choice(HANT_ROLES)
            self.company = rng.choice(HANT_COMPANY_HEAD) + rng.choice(["集團", "有限公司", "股份有限公司", "科技"])
            self.nonnative = False
            local = f"{rng.choice(['ken', 'vicky', 'joanne', 'eric', 'amy', 'jason'])}{rng.randrange(10, 99)}"
        else:
            self.industry = rng.choice(list(IND_ZH))
            self.name = rng.choice(ZH_SURNAMES) + rng.choice(ZH_GIVEN)
            if lang == "mixed" and rng.random() < 0.5:
                self.name = rng.choice(["Kevin ", "Cathy ", "Jack ", "Vivian ", "Leo "]) + self.name[0]
            self.role = rng.choice(ZH_ROLES)
            self.company = rng.choice(ZH_COMPANY_HEAD) + rng.choice(["科技有限公司", "集团", "商贸", "实业", "信息技术有限公司"])
            self.nonnative = False
            local = f"{rng.choice(['zhang', 'wang', 'li', 'chen', 'liu', 'huang', 'zhou'])}{rng.randrange(100)}"
        if rng.random() < 0.25:
            domain = rng.choice(["gmail.example", "qq.example", "163.example", "outlook.example", "yahoo.example", "126.example", "hotmail.example"])
            local = local + str(rng.randrange(1980, 2005)) if rng.random() < 0.5 else local
        else:
            domain = ascii_local(self.company.split()[0] if lang == "en" else f"co{rng.randrange(1000)}") + ".example"
        self.addr = f"{local}@{domain}"

    def signature(self, rng: Random) -> str:
        if rng.random() < 0.2:
            return ""
        first = self.name.split()[0]
        if rng.random() < 0.3:
            return first
        lines = [self.name, self.role if rng.random() < 0.7 else "", self.company]
        if rng.random() < 0.5:
            lines.append(rng.choice(["Tel: +44 1632 960{:03d}", "Mob: 07700 900{:03d}", "电话：021-6{:03d}8888", "手机：139{:03d}12345", "Tel: +852 2{:03d} 0000", "分機 {:03d}"]).format(rng.randrange(1000)))
        if rng.random() < 0.3:
            lines.append(rng.choice(["www.example.com", "LinkedIn | Twitter", "地址：上海市浦东新区张江路88号", "台北市信義區松仁路100號"]))
        sep = rng.choice(["", "", "--\n", "-- \n", "________________\n"])
        return sep + "\n".join(line for line in lines if line)


def vocab(persona: Persona, rng: Random) -> dict[str, str]:
    if persona.lang == "en":
        ind = IND_EN[persona.industry]
        return {"obj": rng.choice(ind["obj"]), "sys": rng.choice(ind["sys"]), "feat": rng.choice(ind["feat"]), "data": rng.choice(ind["data"]),
                "err": rng.choice(EN_ERR), "milestone": rng.choice(EN_MILESTONE), "when": rng.choice(EN_WHEN), "us": rng.choice(EN_US),
                "time": f"{rng.randrange(6, 11)}am", "ref": f"#{rng.randrange(10000, 99999)}"}
    if persona.lang == "zh-Hant":
        ind = IND_HANT[persona.industry]
        return {"obj": rng.choice(ind["obj"]), "sys": rng.choice(ind["sys"]), "feat": rng.choice(ind["feat"]), "data": rng.choice(ind["data"]),
                "err": rng.choice(ZH_ERR), "milestone": rng.choice(HANT_MILESTONE), "when": rng.choice(HANT_WHEN), "us": rng.choice(HANT_US),
                "time": f"早上{rng.randrange(7, 11)}點", "ref": f"E{rng.randrange(1000, 9999)}"}
    ind = IND_ZH[persona.industry]
    return {"obj": rng.choice(ind["obj"]), "sys": rng.choice(ind["sys"]), "feat": rng.choice(ind["feat"]), "data": rng.choice(ind["data"]),
            "err": rng.choice(ZH_ERR), "milestone": rng.choice(ZH_MILESTONE), "when": rng.choice(ZH_WHEN), "us": rng.choice(ZH_US),
            "time": f"上午{rng.randrange(7, 11)}点", "ref": f"ERR{rng.randrange(1000, 9999)}", "feat_en": rng.choice(FEAT_EN_SHORT),
            "err_en": rng.choice(ERR_EN_SHORT), "when_zh": rng.choice(ZH_WHEN)}


def fill(text: str, slots: dict[str, str]) -> str:
    for key, value in slots.items():
        text = text.replace("{" + key + "}", value)
    return text


def bank(lang: str) -> dict[str, list[str]]:
    return {"en": EN, "zh-Hans": ZH, "zh-Hant": HANT, "mixed": MIXED}[lang]


def core(lang: str, key: str, rng: Random, slots: dict[str, str], count: int) -> list[str]:
    source = bank(lang)
    if key not in source:
        source = ZH if lang in ("mixed", "zh-Hans") else HANT
        if key not in source:
            source = ZH
    items = source[key]
    return [fill(s, slots) for s in rng.sample(items, min(count, len(items)))]


def detail(lang: str, label: str, rng: Random, slots: dict[str, str]) -> str:
    table = {"en": EN_DETAIL, "zh-Hant": HANT_DETAIL}.get(lang, ZH_DETAIL)
    return fill(rng.choice(table.get(label, [""])), slots)


def join(lang: str, parts: list[str], rng: Random) -> str:
    parts = [p for p in parts if p]
    if lang == "en":
        if rng.random() < 0.5:
            return "\n\n".join(parts)
        return " ".join(parts)
    return "".join(parts) if rng.random() < 0.5 else "\n".join(parts)


def greeting(persona: Persona, rng: Random, slots: dict[str, str]) -> str:
    if persona.lang == "en":
        pool = EN_GREET_NONNATIVE if persona.nonnative else EN_GREET
    elif persona.lang == "zh-Hant":
        pool = HANT_GREET
    else:
        pool = ZH_GREET
    return fill(rng.choice(pool), slots)


def closing(persona: Persona, rng: Random) -> str:
    if persona.lang == "en":
        return rng.choice(EN_CLOSE_NONNATIVE if persona.nonnative else EN_CLOSE)
    return rng.choice(HANT_CLOSE if persona.lang == "zh-Hant" else ZH_CLOSE)


def nonnative(text: str, rng: Random) -> str:
    """A few habits of non-native business English, applied sparingly."""
    swaps = [("Could you", "Kindly"), ("Please", "Request you to"), ("as soon as possible", "at the earliest"), ("We can't", "We are not able to"),
             ("thank you", "thanking you"), ("doesn't", "is not"), ("look at this", "do the needful"), ("the ", "")]
    for old, new in swaps:
        if old in text and rng.random() < 0.35:
            text = text.replace(old, new, 1)
    return text


# (label, family, key in the bank, prior thread kind or None) and its weight in the mix
PLAN = [
    ("issue", "plain", "issue", None, 14), ("issue", "plain", "issue", "update", 2),
    ("change_request", "plain", "change_request", None, 13), ("change_request", "plain", "change_request", "update", 3),
    ("feedback", "plain", "feedback", None, 8), ("feedback", "plain", "feedback", "question", 4), ("feedback", "plain", "feedback", "estimate", 3),
    ("feedback", "confirmation", "confirmation", "bug", 5), ("feedback", "confirmation", "confirmation", "fixed", 5),
    ("issue", "confirmation", "confirmation_negative", "fixed", 3),
    ("feedback", "status", "status", None, 6), ("feedback", "status", "status", "update", 3),
    ("two_asks", "two_asks", None, None, 10),
    ("long", "long_formal", None, None, 7),
    ("none", "human_noise", None, None, 8),
    ("none", "robot_noise", None, None, 1),
]


def two_asks(persona: Persona, rng: Random, slots: dict[str, str]) -> tuple[str, str, str | None]:
    """Two asks in one mail: the dominant one is put first, or marked urgent / important."""
    lang = persona.lang
    kinds = [("change_request", "feedback"), ("change_request", "issue"), ("issue", "change_request"), ("issue", "feedback"),
             ("feedback", "none_ask"), ("change_request", "status")]
    dominant, other = rng.choice(kinds)
    if dominant == "feedback":  # approval plus a thank-you: still feedback
        first, second = core(lang, "feedback", rng, slots, 2)
        return "feedback", join(lang, [first, second], rng), rng.choice([None, "question", "estimate"])
    main = core(lang, dominant, rng, slots, 1)[0]
    side = core(lang, other, rng, slots, 1)[0]
    connect = {"en": EN_TWO_CONNECT}.get(lang, ZH_TWO_CONNECT)
    urgent = EN_URGENT if lang == "en" else ZH_URGENT
    minor = EN_MINOR if lang == "en" else ZH_MINOR
    prior = None
    if dominant == "change_request" and other == "feedback" and rng.random() < 0.5:
        # "Go ahead with the estimate, and can you also ..." (approval first, the new ask dominates)
        side = core(lang, "feedback", rng, slots, 1)[0]
        prior = "estimate"
        text = join(lang, [side, rng.choice(connect) + " " + main if lang == "en" else rng.choice(connect) + main], rng)
        return "change_request", text, prior
    space = " " if lang == "en" else ""
    if other in ("issue", "change_request"):  # a second ask, marked as the lesser one
        side = side.rstrip("。.!！?？") + space + rng.choice(minor)
    if rng.random() < 0.55:
        text = join(lang, [rng.choice(urgent) + main if rng.random() < 0.4 else main, rng.choice(connect) + space + side], rng)
    else:  # the lesser one first, the dominant one marked
        text = join(lang, [side, rng.choice(urgent) + main], rng)
    if dominant == "issue" and rng.random() < 0.3:
        prior = "update"
    elif dominant == "change_request" and other == "issue" and rng.random() < 0.4:
        prior = "fixed"  # "please change the default sort" in a bug thread
    return dominant, text, prior


def long_formal(persona: Persona, rng: Random, slots: dict[str, str]) -> tuple[str, str]:
    lang = "en" if persona.lang in ("en", "mixed") else "zh-Hans"
    src = EN if lang == "en" else ZH
    label, key = rng.choice([("feedback", "long_feedback"), ("issue", "long_issue"), ("change_request", "long_change")])
    sentences = src[key]
    chosen = sentences[:2] + rng.sample(sentences[2:], min(len(sentences) - 2, rng.randrange(2, 5)))
    paragraphs = []
    while chosen:
        take = rng.randrange(1, 3)
        paragraphs.append((" " if lang == "en" else "").join(fill(s, slots) for s in chosen[:take]))
        chosen = chosen[take:]
    return label, "\n\n".join(paragraphs)


def noise_mail(persona: Persona, rng: Random, number: int) -> tuple[str, str, str, str, list[tuple[str, str]]]:
    lang = persona.lang
    pool = NOISE_EN if lang == "en" else (NOISE_HANT if lang == "zh-Hant" else NOISE_ZH)
    subject, body = rng.choice(pool)
    slots = {"ref": f"INV-{rng.randrange(10000, 99999)}", "company": persona.company, "first": persona.name.split()[0],
             "addr": persona.addr, "link": rng.choice(["https://secure-login.example/verify", "http://bit.example/3xYz", "https://0ffice365-auth.example/s", "http://t.example/a8"]),
             "boss": rng.choice(["James Whitmore", "CEO", "王总", "陈董", "Managing Director"]), "q": str(rng.randrange(1, 5)),
             "phone": f"{rng.randrange(130, 199)}{rng.randrange(10**7, 10**8)}"}
    sender = rng.choice([("Accounts", "billing@invoices-secure.example"), ("Jason Miller", "jason@growthleads.example"), ("IT Service Desk", "it-support@" + persona.addr.split("@")[1].replace(".", "-") + ".example"),
                         (slots["boss"], "ceo.mobile@" + persona.addr.split("@")[1].split(".")[0] + "-corp.example"), ("DocuSign", "dse@docusign-mail.example"), ("", f"sales{rng.randrange(100)}@qq.example")])
    subject = fill(subject, slots)
    if rng.random() < 0.25 and not subject.startswith("Re"):
        subject = rng.choice(["Re: ", "RE: ", "回复："]) + subject
    return fill(body, slots), subject, sender[0], sender[1], []


def compose(rng: Random, number: int, lang: str) -> Mail:
    persona = Persona(rng, lang)
    slots = vocab(persona, rng)
    weights = [p[4] for p in PLAN]
    label, family, key, prior, _w = rng.choices(PLAN, weights=weights)[0]
    subject_hint = ""
    extra: list[tuple[str, str]] = []
    from_name, from_addr = persona.name, persona.addr
    if family == "robot_noise":
        subj, text, extra = rng.choice(ROBOT_NOISE)
        return Mail(id=f"gen-{number:05d}", label="none", lang="zh-Hans" if any("\u4e00" <= c <= "\u9fff" for c in text) else "en", family=family, style="robot",
                    from_name="", from_addr=rng.choice(["mailer-daemon@mx.example", "noreply@forum.example", from_addr]), subject=subj.format(subject="project"), text=text, extra=extra)
    if family == "human_noise":
        text, subject, from_name, from_addr, extra = noise_mail(persona, rng, number)
        return Mail(id=f"gen-{number:05d}", label="none", lang=lang if lang != "mixed" else "zh-Hans", family=family, style="plain",
                    from_name=from_name, from_addr=from_addr, subject=subject, text=text, extra=extra)
    if family == "two_asks":
        label, body, prior = two_asks(persona, rng, slots)
    elif family == "long_formal":
        label, body = long_formal(persona, rng, slots)
        prior = None
    else:
        count = 1 if rng.random() < 0.6 else 2
        sentences = core(lang, key, rng, slots, count)
        if key in ("issue", "change_request", "feedback"):
            sentences.append(detail(lang, key, rng, slots))
        body = join(lang, sentences, rng)
    body = nonnative(body, rng) if getattr(persona, "nonnative", False) else body
    mobile = rng.random() < 0.12 and family != "long_formal"
    parts = []
    if not mobile:
        parts.append(greeting(persona, rng, slots))
        if lang == "en":
            parts.append(rng.choice(EN_CONTEXT))
    parts.append(body)
    if not mobile:
        parts.append(closing(persona, rng))
        parts.append(persona.signature(rng))
        if rng.random() < 0.15:
            parts.append(fill(rng.choice(DISCLAIMERS_EN if lang == "en" else DISCLAIMERS_ZH), {"company": persona.company}))
    text = "\n\n".join(p for p in parts if p)
    style = "mobile" if mobile else "plain"
    if mobile:
        text += rng.choice(["\n\nSent from my iPhone", "\n\n发自我的华为手机", "\n\nGet Outlook for Android", "", "\n\n发自我的iPhone"])
    subj_pool = {
        "issue": ["Problem with {obj}", "{obj} not working", "Error on the {sys}", "Urgent - {sys}", "{sys} issue", "Help!", "{obj}"],
        "change_request": ["Change to {obj}", "New request: {feat}", "{sys} - small change", "Request", "Idea", "Scope change"],
        "feedback": ["Thanks", "{sys}", "Feedback", "Designs", "Meeting", "Quick note"],
    }
    if lang != "en":
        subj_pool = {
            "issue": ["{obj}有问题" if lang != "zh-Hant" else "{obj}有問題", "{sys}报错" if lang != "zh-Hant" else "{sys}錯誤", "紧急" if lang != "zh-Hant" else "緊急", "{obj}"],
            "change_request": ["需求变更" if lang != "zh-Hant" else "需求變更", "{feat}", "关于{obj}" if lang != "zh-Hant" else "關於{obj}", "新需求"],
            "feedback": ["谢谢" if lang != "zh-Hant" else "謝謝", "反馈" if lang != "zh-Hant" else "回饋", "{sys}", "会议" if lang != "zh-Hant" else "會議"],
        }
    # A reply keeps the subject of the thread it answers: a confirmation under "Problem with …".
    topic = {"bug": "issue", "fixed": "issue", "estimate": "change_request"}.get(prior or "", label)
    subject = fill(rng.choice(subj_pool.get(topic, subj_pool["feedback"])), slots) if rng.random() < 0.9 else ""
    in_reply_to = None
    if prior is not None or (rng.random() < 0.15 and family == "plain"):
        kind = prior or rng.choice(["update", "question"])
        priors = PRIOR_EN if lang == "en" else (PRIOR_HANT if lang == "zh-Hant" else PRIOR_ZH)
        if lang == "mixed" and rng.random() < 0.5:
            priors = PRIOR_EN
        prior_text = fill(priors[kind], slots)
        who = (persona.name, persona.addr) if kind == "bug" else rng.choice(AGENCY_PEOPLE)
        quoter = rng.choice(QUOTERS[lang])
        style = quoter.__name__.removeprefix("q_")
        quoted = quoter(who, prior_text, rng, lang)
        if quoter is q_forward or (quoter is q_outlook and rng.random() < 0.2):
            pass
        text = f"{text}\n\n{quoted}\n"
        subject = rng.choice(["Re: ", "RE: ", "回复：", "回覆：", "答复: ", "Re:"] if lang != "en" else ["Re: ", "RE: ", "Re:"]) + (subject or "project")
        in_reply_to = f"m{rng.randrange(10**8)}@agency.example"
    elif rng.random() < 0.06 and family == "plain":
        # a forward with a note on top: the label follows the note
        fwd = q_forward((rng.choice(["Store manager", "店长", "Support desk"]), "staff@client.example"), fill(rng.choice(list((PRIOR_EN if lang == "en" else PRIOR_ZH).values())), slots), rng, lang)
        text = f"{text}\n\n{fwd}\n"
        subject = "Fwd: " + (subject or "FYI")
        style = "forward"
    mail = Mail(id=f"gen-{number:05d}", label=label, lang=lang, family=family, style=style, from_name=from_name, from_addr=from_addr,
                subject=subject, text=text, in_reply_to=in_reply_to)
    if style in ("plain", "mobile") and rng.random() < 0.15:
        paragraphs = [p for p in text.split("\n\n") if p.strip()]
        table = None
        if rng.random() < 0.5:
            table = [["#", "Page", "Note"] if lang == "en" else ["序号", "页面", "说明"], ["1", slots["obj"], slots.get("data", "")], ["2", slots["sys"], slots.get("when", "")]]
        mail.html, mail.text = html_page(paragraphs, table), None
        mail.style = "html_table" if table else "html"
    elif style not in ("plain", "mobile", "forward") and rng.random() < 0.12:
        # an HTML-only reply: the quote in a blockquote, as webmail sends it
        new, _sep, old = text.partition("\n\n" + quoted)
        mail.html = html_page([p for p in new.split("\n\n") if p.strip()]).replace("</body>", f"<div class=\"gmail_quote\"><blockquote>{old}{prior_text.replace(chr(10), '<br>')}</blockquote></div></body>")
        mail.text = None
        mail.style = "html_blockquote"
    if rng.random() < 0.07:
        mail.attachments.append(rng.choice([("screenshot.png", "image/png"), ("报价单.pdf", "application/pdf"), ("UAT sign-off.pdf", "application/pdf"), ("data.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")]))
    if lang in ("zh-Hans", "zh-Hant") and mail.text is not None and rng.random() < 0.25:
        charset = "gbk" if lang == "zh-Hans" else "big5"
        try:
            mail.text.encode(charset)
            mail.charset = charset
        except UnicodeEncodeError:
            pass
    return mail


def generate(seed: int, n: int) -> list[tuple[Mail, bytes]]:
    rng = Random(seed)
    langs = ["en"] * 45 + ["zh-Hans"] * 30 + ["zh-Hant"] * 14 + ["mixed"] * 11
    start = datetime(2026, 1, 5, tzinfo=UTC)
    out = []
    for number in range(n):
        lang = rng.choice(langs)
        mail = compose(rng, number, lang)
        out.append((mail, render(mail, rng, moment(rng, start, 300, 0 if lang == "en" else 8))))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "corpus" / "mail")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--n", type=int, default=4400)
    args = parser.parse_args(argv)
    mails = generate(args.seed, args.n)
    write_set(mails, args.out)
    print(f"wrote {len(mails)} mails to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
