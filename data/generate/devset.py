"""The independent dev set (data/dev/): whole hand-written mail scenarios, frozen.

    .venv/bin/python data/generate/devset.py [--out data/dev] [--seed 2026]

Written apart from the training corpus generator (data/generate/corpus.py): each scenario here is
a complete mail with a few slots ({product}, {thing}, {when} …), not sentences assembled from
fragment banks; personas, companies, subjects and the quoting code are this file's own, and
tests/unit/triage/test_dev_set.py checks that no sentence is shared with the training corpus.
The set is never trained on; it is regenerated only on purpose (the seed fixes every choice).

Families (docs/triage.md): confirmation (a reply that confirms, over a quoted bug report),
status (status questions and complaints about progress), two_asks (the dominant ask decides),
long_formal (long English and Chinese formal mails), human_noise (spam and phishing written
like a person), robot_noise (auto-replies, bounces, newsletters), plain (everything else).
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

# ---------------------------------------------------------------- people and slots
EN_PEOPLE = [
    ("Gwendolyn Achterberg", "Head of Digital", "Lindqvist Ferries", "lindqvist-ferries.example", "Kind regards"),
    ("Rahul Venkataraman", "IT Manager", "Saffron Diagnostics", "saffron-dx.example", "Thanks & Regards"),
    ("Bea Okonkwo-Hart", "Marketing Lead", "Hart & Kettle Bakery", "hartkettle.example", "x Bea"),
    ("Tobias Grünwald", "Produktmanager", "Alpenrad GmbH", "alpenrad.example", "Best regards"),
    ("Kenji Morimoto", "System Administrator", "Morimoto Logistics", "morimoto-log.example", "Best Regards,"),
    ("Lucía Ferrer", "Operations Coordinator", "Ferrer Viajes", "ferrerviajes.example", "Saludos / regards"),
    ("Dave Pruitt", "Owner", "Pruitt Plumbing & Heating", "pruittph.example", "Dave"),
    ("Anneke de Wit", "Project Officer", "Stichting Groenhaven", "groenhaven.example", "With kind regards,"),
    ("Mohammed Al-Sayegh", "Procurement", "Gulf Orbit Trading", "gulforbit.example", "Regards,"),
    ("Priya Natarajan", "QA Lead", "Kestrel Insurance", "kestrel-ins.example", "Cheers,"),
    ("Hannah Lowe", "Director of Admissions", "Ashcombe College", "ashcombe.example", "Best wishes,"),
    ("Stefan Ionescu", "CTO", "Carpathia Fintech", "carpathia.example", "BR, Stefan"),
    ("Joy Mensah", "Events Manager", "Accra Arts Council", "accra-arts.example", "Warmly,"),
    ("Oliver Brandt-Smith", "Compliance Officer", "Meridian Wealth", "meridianwealth.example", "Yours sincerely,"),
]
ZH_HANS_PEOPLE = [
    ("周晓雯", "运营经理", "杭州青禾电商", "qinghe-shop.example", "谢谢！"),
    ("李建国", "信息中心主任", "江北区人民医院", "jbhospital.example", "此致"),
    ("马超", "产品负责人", "速达同城配送", "suda56.example", "辛苦了"),
    ("陈思远", "市场部", "成都麻辣熊食品", "malaxiong.example", "祝好"),
    ("黄丽娟", "财务主管", "鑫盛建材集团", "xinsheng-jc.example", "谢谢"),
    ("王浩", "技术总监", "北京云帆教育", "yunfan-edu.example", "Best"),
    ("吴敏", "行政", "苏州恒泰物业", "hengtai-wy.example", "麻烦了"),
    ("郑凯", "项目经理", "深圳芯联科技", "xinlian-tech.example", "多谢"),
]
ZH_HANT_PEOPLE = [
    ("林佩君", "行銷企劃", "台北好日子文創", "goodday-tw.example", "敬祝 順心"),
    ("張志明", "資訊部經理", "高雄港灣貨運", "khport.example", "謝謝"),
    ("陳嘉欣", "Operations", "香港栢景物業管理", "parkview-hk.example", "唔該晒"),
    ("黃子軒", "Project Owner", "九龍城茶餐廳集團", "klncafe.example", "Thx"),
    ("吳淑芬", "人資主任", "新竹晶圓材料", "hsinchu-wafer.example", "順頌 商祺"),
    ("梁家豪", "IT", "灣仔會計師事務所", "wanchai-cpa.example", "Regards"),
]
MIXED_PEOPLE = [
    ("Kelvin 劉", "Product Manager", "Harbour Pay 港灣支付", "harbourpay.example", "Thanks"),
    ("Sandy 許", "Marketing", "晴天 Travel", "sunnytravel.example", "Cheers"),
    ("张伟 David", "IT Lead", "华东精密 Precision", "hd-precision.example", "Thanks"),
    ("Cindy 王", "PM", "Bloom 花艺", "bloomflora.example", "谢谢"),
]
FREEMAIL = {"en": ["gmail.example", "outlook.example"], "zh": ["qq.example", "163.example", "126.example"]}

SLOTS_EN = {
    "product": ["booking portal", "staff app", "customer dashboard", "online shop", "member area", "timesheet tool", "quote calculator", "parent portal"],
    "thing": ["the PDF invoice", "the search page", "the calendar sync", "the password reset", "the photo upload", "the monthly report", "the checkout", "the SSO login"],
    "feature": ["a bulk-edit option", "a Dutch version of the site", "SMS reminders", "an export to Excel", "a dark theme", "two-factor login", "a waiting-list feature", "a second currency"],
    "when": ["Friday", "the 14th", "end of next week", "Monday morning", "before the board meeting", "the go-live on the 2nd"],
    "milestone": ["milestone 2", "phase two", "the data migration", "the UAT round", "sprint 7", "the API integration"],
    "us": ["Marta", "Jonas", "Wei", "Sophie", "Arjun"],
    "amount": ["4,800", "12,500", "2,150", "7,900"],
}
SLOTS_ZH = {
    "product": ["小程序", "会员系统", "后台管理系统", "官网", "APP", "报表平台", "预约系统", "OA审批流程"],
    "thing": ["订单导出", "短信验证码", "首页轮播图", "发票打印", "扫码登录", "库存同步", "月度报表", "支付回调"],
    "feature": ["批量导入功能", "英文版页面", "微信消息提醒", "数据看板", "积分兑换", "多门店切换", "电子合同签署", "员工排班模块"],
    "when": ["周五前", "下周一", "月底之前", "15号", "国庆节前", "下个月初"],
    "milestone": ["第二期", "数据迁移", "验收测试", "二期开发", "接口联调", "上线准备"],
    "us": ["小李", "张工", "陈经理", "刘老师", "Amy"],
    "amount": ["三万二", "8,600", "一万五", "4.5万"],
}
SLOTS_HANT = {
    "product": ["官網", "會員系統", "預約平台", "App", "後台", "報表系統", "線上商店", "內部系統"],
    "thing": ["訂單匯出", "簡訊驗證", "首頁橫幅", "發票列印", "登入頁面", "庫存同步", "月報", "付款流程"],
    "feature": ["批次匯入", "英文版", "LINE 通知", "數據儀表板", "點數兌換", "多分店切換", "電子簽名", "排班功能"],
    "when": ["週五前", "下週一", "月底前", "15號", "農曆年前", "下個月初"],
    "milestone": ["第二階段", "資料轉移", "驗收測試", "二期", "API 串接", "上線準備"],
    "us": ["Kevin", "阿明", "陳經理", "Joanne", "小黃"],
    "amount": ["三萬二", "8,600", "一萬五", "4.5萬"],
}

# ---------------------------------------------------------------- scenarios
# (label, family, subject, body). A body line "@@" marks where a quoted thread may follow;
# the thread kind after "@@" (bug, fixed, question, estimate, update) picks what is quoted.
EN = [
    ("issue", "plain", "{product} down?", "Morning,\n\nIs the {product} down for everyone or just us? We get a grey screen with \"upstream connect error\" since about 8:40. Our front desk can't check anybody in.\n\nPlease ring me when you know more."),
    ("issue", "plain", "Numbers don't add up", "Hi {us},\n\nThe totals in the {product} are off. The sum of the rows in the March sheet is 18,340 but the header says 18,430. Finance noticed it during the audit so we need a fix and an explanation of how long it has been wrong."),
    ("issue", "plain", "can't get in", "hey - none of my team can sign in to the {product} today, it says our account is locked. we didn't change anything. help?"),
    ("issue", "plain", "Urgent: customers charged twice", "{us},\n\nWe have three complaints this morning from customers who were charged twice for one order. Screenshot from the payment provider attached. Please treat this as top priority and stop the payments if needed."),
    ("issue", "plain", "Link in the newsletter goes nowhere", "Hello,\n\nThe \"book now\" link in the template you built leads to a page that says 404 - not found. It was fine last week. Could someone check what happened?\n\nThank you"),
    ("issue", "plain", "Very slow since Tuesday", "Dear team,\n\nSince Tuesday's release {thing} takes over a minute to open; before it was two or three seconds. Staff have started to keep paper notes because they can't wait. We would appreciate it if you could investigate as a matter of priority."),
    ("issue", "plain", "Possible data leak", "Hi,\n\nOne of our members told us that when she changed the number in the address bar she could see someone else's booking, name and phone number included. I tried it and it's true. This is serious for us under GDPR. What do we do?"),
    ("issue", "plain", "Re: go-live checklist", "The SSL certificate on the staging site has expired, browsers show a big red warning. Our testers are stuck until it is renewed.@@update"),
    ("issue", "plain", "Kindly check the error", "Dear Sir/Madam,\n\nKindly note that while uploading the documents in the {product} we are getting the error \"File type not supported\" even for normal PDF files. Request you to kindly check and do the needful at the earliest.\n\nThanks & Regards"),
    ("issue", "plain", "Emails from the system go to spam", "All the notification mails from the {product} have started landing in Junk for our staff and for customers. Started around the 3rd. We didn't touch our mail settings."),
    ("change_request", "plain", "Idea for the {product}", "Hi {us},\n\nNow that people are using it, we'd love {feature}. Nothing urgent - could you tell us what it would cost and when it could fit in?"),
    ("change_request", "plain", "Wording on the homepage", "Hi,\n\nMarketing has new copy for the homepage hero. Could you swap the headline to \"Travel lighter this winter\" and the button to \"See the offers\"? The text file is attached."),
    ("change_request", "plain", "Move the launch", "Dear {us},\n\nBecause our warehouse move has slipped, we would like to postpone the launch from {when} to three weeks later. Please let us know what this means for the plan and whether it affects the price."),
    ("change_request", "plain", "Another report please", "hi, the board now wants a quarterly version of the sales report on top of the monthly one, same layout but grouped by quarter. is that doable?"),
    ("change_request", "plain", "Priorities for next sprint", "Hello both,\n\nAfter our management meeting we'd like to put the loyalty programme ahead of the blog redesign. Could you swap them in the plan for the next two sprints?"),
    ("change_request", "plain", "Additional user roles", "Dear team,\n\nWe need a read-only role for our auditors in the {product}. They should see everything but not change anything. This was not part of the original scope, so please send us a quote.\n\nThank you in advance"),
    ("change_request", "plain", "Logo", "We have a new logo (attached). Please replace it everywhere - site, emails and the PDF templates."),
    ("change_request", "plain", "Request for Spanish", "Hola {us}, could we get the booking pages in Spanish as well as English? About a third of our guests are from Spain and Mexico. Translations we can provide."),
    ("change_request", "plain", "Budget", "Hi {us},\n\nI'm afraid we have to cut the budget for phase 2 by about 20%. Can you come back with a reduced scope that fits {amount} less?"),
    ("feedback", "plain", "Thank you!", "Just wanted to say the new {product} went down really well at the staff meeting. People actually like using it. Thanks to you and the team."),
    ("feedback", "plain", "Re: questions about the import", "Answers below:\n1. Yes, the old customer numbers can be dropped.\n2. Prices are always including VAT.\n3. Maria will be the contact while I'm away.@@question"),
    ("feedback", "plain", "Meeting Thursday", "Thursday at 2 works for us. We'll come to your office, it will be me and our finance lead."),
    ("feedback", "plain", "Re: design options", "We prefer option B - cleaner and it fits our brand better. Option A felt a bit busy.@@update"),
    ("feedback", "plain", "quick note", "Got the invoice, thanks. Payment will go out with our next run."),
    ("feedback", "plain", "Some thoughts", "Hi {us},\n\nHonestly I'm a bit underwhelmed by the last demo. It does what we asked, but it doesn't feel polished yet. I'm sure it will get there, just sharing how the team felt."),
    ("feedback", "plain", "Re: estimate for the export", "Estimate approved, please go ahead as proposed.@@estimate"),
    # confirmations whose quoted history is a bug report
    ("feedback", "confirmation", "Re: {thing} broken", "Works now, thank you! Tested on three phones.@@bug"),
    ("feedback", "confirmation", "Re: {thing} broken", "Confirmed fixed on our side. Thanks for the quick turnaround, much appreciated.@@bug"),
    ("feedback", "confirmation", "RE: Error when saving", "Hi {us}, yes that did it - the error is gone and the records save fine. You can close the ticket.@@fixed"),
    ("feedback", "confirmation", "Re: outage this morning", "All good here now, everything is back up. Thanks for keeping us posted during the outage.@@fixed"),
    ("feedback", "confirmation", "UAT sign-off", "Dear {us},\n\nPlease find attached the signed UAT acceptance form for {milestone}. All test cases passed on the second round, including the two bugs we raised last week, which are now verified as fixed.\n\nBest regards@@fixed"),
    ("feedback", "confirmation", "Re: bug 214", "Retested this morning, looks fine. The crash does not happen anymore.@@bug"),
    ("feedback", "confirmation", "RE: login problem", "thx, I can log in again 👍@@bug"),
    ("feedback", "confirmation", "Re: wrong prices on the site", "Checked a dozen products, prices are correct again. Good job on finding the cause so fast.@@fixed"),
    ("issue", "confirmation", "Re: {thing} broken", "Sorry, still broken for us. Same error as before on Chrome and Edge, I cleared the cache too.@@fixed"),
    ("issue", "confirmation", "RE: Error when saving", "The fix works for new records but now editing an old record gives a different error: \"constraint violation\". Can you look again?@@fixed"),
    # status questions and complaints about progress or communication
    ("feedback", "status", "How are things going?", "Hi {us}, how is {milestone} coming along? Just checking we are still on track for {when}."),
    ("feedback", "status", "Update?", "Any news on this? Haven't heard anything for two weeks."),
    ("feedback", "status", "Communication", "Dear {us},\n\nI have to be frank: the dates keep slipping and nobody tells us until we ask. We found out about the last delay from your invoice. We'd expect a weekly update without having to chase.\n\nRegards"),
    ("feedback", "status", "Where are we with the app?", "Hello,\n\nOur CEO asked me where we stand with the {product}. Could you send me a short status I can forward - what's done, what's left, any risks?"),
    ("feedback", "status", "Re: weekly update", "Thanks for the update. Good to see the payment part is finished. Looking forward to the demo.@@update"),
    ("feedback", "status", "not happy with the pace", "To be honest we're disappointed with how slowly {milestone} is moving. We were told four weeks and it's now seven. No new request, I just want you to know it's noticed."),
    ("feedback", "status", "Status of the migration?", "Dear team, could you let me know the current status of {milestone}? Our IT department is asking whether they can switch off the old server next month."),
    ("change_request", "status", "Timeline", "Given where {milestone} is, can we please bring the training session forward to {when}, and push the rest of the plan by a week?"),
    # two asks: the dominant one decides
    ("change_request", "two_asks", "Go ahead + one more thing", "Go ahead with the estimate you sent. And could you also add a field for the customer's VAT number on the invoice screen?@@estimate"),
    ("change_request", "two_asks", "Re: report totals wrong", "Thanks for fixing the totals. While you're at it, please change the default sort of the report to newest first - that's the important one for us.@@fixed"),
    ("issue", "two_asks", "Two things", "Two things:\n1) URGENT - the contact form is not sending anything, we've had no enquiries since Monday.\n2) At some point it would be nice to have the form in French too, no rush."),
    ("change_request", "two_asks", "feedback and a request", "The new menu looks great, well done. Main reason I'm writing: we need a new page for our summer camp, with a sign-up form, live by {when}."),
    ("issue", "two_asks", "login + logo", "Most important: our sales team can't log in since this morning (\"invalid token\"). Also, small thing, the logo in the footer is still the old one."),
    ("feedback", "two_asks", "Re: invoice and the meeting", "Invoice received, thanks. And yes, Tuesday at 10 works for the review meeting.@@question"),
    ("change_request", "two_asks", "Re: Q3 planning", "Happy with the plan overall. Please drop the blog module from phase 2 and use the time for {feature} instead. Also the logo on slide 4 is slightly blurry, no big deal.@@update"),
    ("issue", "two_asks", "booking bug and a question", "The booking calendar shows Sunday as available even though we're closed, and two customers have booked already. Separately, could you send us the invoice for October again?"),
    # long formal English
    ("feedback", "long_formal", "Monthly service review - October", "Dear {us},\n\nPlease find below a summary of our monthly service review held on 3 November.\n\nAttendees: our operations director, our IT manager and myself.\n\n1. Availability: the {product} met the agreed availability target for the month; no incidents were reported by our staff.\n2. Support: the two tickets raised in October were answered within the agreed response times, and both were closed to our satisfaction.\n3. Roadmap: we reviewed the plan for the next quarter and have no changes to propose at this stage.\n4. Invoicing: the October invoice has been checked and passed for payment.\n\nOverall we are satisfied with the service and would like to thank the team for their continued effort. The next review is scheduled for the first week of December.\n\nYours sincerely"),
    ("issue", "long_formal", "Findings from the external security assessment", "Dear Sir or Madam,\n\nFurther to the penetration test carried out by our external auditors last week, I am writing to inform you of the findings that relate to the application you developed and host for us. The full report is attached; the items below are rated high and must be remediated before our certification audit on {when}.\n\n- Session cookies are issued without the Secure and HttpOnly flags.\n- The password reset token does not expire and can be reused.\n- Directory listing is enabled on the /uploads path.\n\nPlease confirm receipt and provide a remediation plan with dates by the end of this week.\n\nYours faithfully"),
    ("change_request", "long_formal", "Proposed amendments to the statement of work", "Dear {us},\n\nFollowing the internal review of the statement of work for {milestone}, our steering committee has asked me to put forward the following amendments for your consideration.\n\nFirst, the reporting module should additionally support a quarterly consolidated view across all subsidiaries. Second, the go-live date should be moved by four weeks to allow for our own staff training. Third, we would like the handover documentation to be delivered in both English and German.\n\nWe appreciate that these changes may have an impact on cost and timeline and would be grateful for a revised proposal at your earliest convenience.\n\nWith kind regards"),
    ("feedback", "long_formal", "Formal acceptance of phase one", "Dear {us},\n\nOn behalf of the project board I am pleased to confirm the formal acceptance of phase one of the {product}. The deliverables have been reviewed against the acceptance criteria set out in the contract, and all criteria have been met. The outstanding observations from the test report have been resolved and verified by our quality team.\n\nThe signed acceptance certificate is attached for your records. We look forward to continuing our collaboration in phase two.\n\nYours sincerely"),
    ("issue", "long_formal", "Service incident of 12 November - formal complaint", "Dear {us},\n\nI am writing to register a formal complaint regarding the incident of 12 November, during which the {product} was unavailable for approximately five hours during our peak trading period. No notice was given to us, and our own customers were the first to report the problem.\n\nThe service is, as of this morning, again returning intermittent errors on payment, which suggests the underlying cause has not been resolved. We require an incident report, the root cause, and confirmation of the corrective actions taken.\n\nYours faithfully"),
    ("change_request", "long_formal", "Request for change: data retention", "Dear team,\n\nOur legal department has completed its review of data retention across our systems. As a result, we are required to change the retention rules in the {product}: personal data of inactive customers must be anonymised after 24 months instead of being kept indefinitely, and an audit log of each anonymisation must be kept.\n\nKindly assess the effort and include the change in the next release plan. I am available for a call should you need clarification.\n\nKind regards"),
    ("feedback", "long_formal", "Minutes of the steering meeting", "Dear all,\n\nThank you for attending the steering meeting on Wednesday. For the record, the following was agreed:\n\n- The project remains on schedule for the planned release date.\n- The budget position is as reported; no additional funding is requested.\n- Both parties are satisfied with the current level of communication.\n- The next steering meeting will take place in four weeks.\n\nShould anyone feel that these minutes do not reflect the discussion accurately, please let me know by Friday.\n\nBest regards"),
    # human-written spam and phishing
    ("none", "human_noise", "Re: your website", "Hi there,\n\nI was checking your website and noticed it is not ranking on Google for important keywords. We can bring you to page 1 in 30 days with our white-hat SEO packages starting at $199/month. Shall I send a free audit?\n\nBest, Ryan | Growth Specialist"),
    ("none", "human_noise", "Action required: mailbox storage full", "Dear user,\n\nYour mailbox has exceeded its storage limit and incoming messages are being held. To avoid permanent loss of your email, verify your account within 24 hours using the link below:\n\nhttps://mail-verify-portal.example/login\n\nIT Helpdesk"),
    ("none", "human_noise", "Quick favour", "Hi, are you at your desk? I need you to handle a confidential payment to a new supplier today, I'm in meetings all afternoon and can't talk. Reply with your mobile and I'll send details.\n\nSent from my iPad"),
    ("none", "human_noise", "Please review and sign: {product} contract amendment", "You have received a document to review and sign.\n\nDocument: {product} - Contract Amendment v2.pdf\nSender: Legal Department\n\nREVIEW DOCUMENT\n\nThis link expires in 48 hours. Do not share this email."),
    ("none", "human_noise", "Updated bank details for payment", "Dear Accounts,\n\nPlease note that our bank details have changed due to an audit. All outstanding invoices should be paid to the new account below from today. Kindly confirm once updated.\n\nAccount name: Global Trade Services Ltd\nIBAN: GB00 FAKE 0000 0000 0000 00"),
    ("none", "human_noise", "Partnership opportunity", "Hello,\n\nWe are a leading offshore development company with 300+ engineers. We can reduce your development costs by 60%. Would you be open to a 15-minute call next week?\n\nRegards, Ankit"),
    ("none", "human_noise", "Your invoice #88231 is overdue", "Hello,\n\nWe haven't received payment for invoice #88231. Please download the invoice from the secure link and settle it today to avoid a late fee.\n\nhttps://docs-share.example/inv88231\n\nThanks, Billing"),
    ("none", "human_noise", "Congratulations!", "Congratulations! Your email has been selected to receive a $500 gift card as part of our customer appreciation week. Claim it before midnight: reply with your full name and address."),
    ("none", "human_noise", "guest post", "Hey, love your blog! Would you accept a guest post on your site? I can pay $80 for a do-follow link. Let me know."),
    ("none", "human_noise", "Voicemail received (1)", "You have a new voice message from +44 20 7946 0000, duration 0:42.\n\nPlay message: https://voicemail-cloud.example/play?id=77123\n\nThis message was sent to you by your phone system."),
]
ZH = [
    ("issue", "plain", "{product}打不开了", "{us}你好，\n\n{product}从早上九点多开始一直转圈，进不去，换了手机和电脑都一样。门店那边现在没法下单，麻烦尽快看看是什么情况。"),
    ("issue", "plain", "{thing}数据不对", "你好，{thing}里的金额和我们财务系统对不上，11月一共差了三千多块。麻烦帮忙查一下是哪里算错了，月底要结账。"),
    ("issue", "plain", "收不到验证码", "有好几个顾客反映注册时收不到短信验证码，等了十分钟也没有。昨天还是好的。"),
    ("issue", "plain", "紧急！支付后订单状态没变", "{us}，紧急情况：顾客付完款以后订单一直显示待支付，已经有二十多单了，客服电话被打爆了。请马上处理！"),
    ("issue", "plain", "后台导出报错", "后台点导出的时候弹出\"服务器内部错误\"，导不出来，截图在附件。"),
    ("issue", "plain", "页面显示乱码", "您好，官网的新闻详情页在苹果手机上显示一堆乱码，安卓正常。麻烦修复一下，谢谢。"),
    ("issue", "plain", "权限好像有问题", "我们发现普通员工账号也能看到全公司的工资表，这个问题比较严重，请尽快处理。"),
    ("issue", "plain", "系统特别卡", "最近这几天{product}特别卡，打开一个页面要半分钟，员工都在抱怨。之前不是这样的。"),
    ("change_request", "plain", "想加一个功能", "{us}你好，\n\n我们老板看了以后想加{feature}，你们评估一下工作量和费用，看看能不能放到下一期里。"),
    ("change_request", "plain", "首页改一下", "首页的banner换成附件里这三张图吧，文字改成\"冬季新品 限时八折\"。"),
    ("change_request", "plain", "上线时间能不能推迟", "因为我们内部培训还没做完，想把上线时间从{when}往后推两周，你们看看对排期有没有影响。"),
    ("change_request", "plain", "报表要按部门分", "月度报表现在是按人统计的，领导希望再加一个按部门汇总的视图，导出的时候也要有。"),
    ("change_request", "plain", "调整优先级", "开会讨论了一下，{feature}先不做了，优先做{thing}的优化，麻烦调整一下后面的计划。"),
    ("change_request", "plain", "合同范围变更", "您好，\n\n经公司研究决定，二期增加门店管理模块，同时取消原计划中的论坛模块。请贵司根据变更重新报价。\n\n谢谢"),
    ("change_request", "plain", "能不能支持英文", "我们下个月开始有外国客户，{product}需要能切换成英文，这个要多久？"),
    ("feedback", "plain", "谢谢大家", "新版上线以后员工反馈都挺好的，操作比以前方便多了，辛苦各位了！"),
    ("feedback", "plain", "回复：几个问题", "回答一下你们的问题：\n1. 旧数据不需要迁移\n2. 价格都是含税的\n3. 下周我出差，有事找小王@@question"),
    ("feedback", "plain", "会议时间", "周四下午两点可以，我们三个人过来。"),
    ("feedback", "plain", "回复：设计稿", "第二版更好，就按这个方向走。@@update"),
    ("feedback", "plain", "发票收到了", "发票已收到，下周安排付款。"),
    ("feedback", "plain", "回复：报价", "报价没问题，同意，按这个执行。@@estimate"),
    ("feedback", "confirmation", "回复：{thing}报错", "可以了，刚试了没问题，谢谢！@@bug"),
    ("feedback", "confirmation", "回复：{thing}报错", "已确认修复，门店那边也反馈正常了，辛苦！@@bug"),
    ("feedback", "confirmation", "回复：系统无法登录", "好了好了，能登录了，感谢你们这么快处理。@@fixed"),
    ("feedback", "confirmation", "验收确认", "{us}您好，\n\n{milestone}的验收测试已经全部通过，上次提的三个bug我们也复测过了，都已经解决。签字版的验收单在附件里，请查收。@@fixed"),
    ("feedback", "confirmation", "回复：支付故障", "今天一天都没再出现，应该是彻底好了，谢谢。@@fixed"),
    ("feedback", "confirmation", "Re: 数据错误", "核对过了，数据现在是对的。@@bug"),
    ("issue", "confirmation", "回复：{thing}报错", "还是不行，同样的错误，我已经清过缓存了。@@fixed"),
    ("issue", "confirmation", "回复：系统无法登录", "登录是可以了，但是登录以后首页一直空白，什么都不显示。@@fixed"),
    ("feedback", "status", "进度怎么样了", "{us}，{milestone}现在进展如何？{when}能按时完成吗？"),
    ("feedback", "status", "有消息吗", "这个事情有进展了吗？两个礼拜没消息了。"),
    ("feedback", "status", "关于沟通", "说实话，我们对最近的沟通不太满意，每次延期都是我们问了才知道。希望以后每周主动同步一下进度。"),
    ("feedback", "status", "项目现在什么状态", "领导问我{product}到哪一步了，麻烦发个简单的进度说明给我，做完了什么、还剩什么、有没有风险。"),
    ("feedback", "status", "回复：本周进展", "收到，进展不错，期待下周的演示。@@update"),
    ("feedback", "status", "进度太慢了", "{milestone}原来说一个月，现在快两个月了，我们这边压力很大。没有新需求，就是希望你们抓紧。"),
    ("change_request", "status", "计划调整", "看了目前的进度，培训能不能提前到{when}？后面的计划顺延一周。"),
    ("change_request", "two_asks", "回复：报价", "报价同意，开始做吧。另外再加一个导出PDF的按钮。@@estimate"),
    ("change_request", "two_asks", "回复：报表错误", "谢谢修好了。顺便把报表默认排序改成按日期倒序，这个比较重要。@@fixed"),
    ("issue", "two_asks", "两件事", "两件事：\n1. 急！官网的留言表单提交不了，这周一条留言都没收到。\n2. 以后有空的话可以加个英文版，不急。"),
    ("issue", "two_asks", "登录问题和logo", "最重要的：销售部今天都登不进去了，提示\"令牌无效\"。另外页脚的logo还是旧的。"),
    ("feedback", "two_asks", "回复：发票和会议", "发票收到了，谢谢。周二上午十点开会没问题。@@question"),
    ("change_request", "two_asks", "新页面", "新菜单很好看。主要想说：夏令营需要一个报名页面，{when}要上线。"),
    ("feedback", "long_formal", "十一月服务回顾", "{us}您好：\n\n现将11月份服务回顾会议的情况总结如下：\n一、系统运行：本月{product}运行稳定，未发生故障。\n二、技术支持：本月提交的两个工单均在约定时间内响应并处理完毕。\n三、后续计划：双方对下季度计划无异议。\n四、费用：11月账单已审核，将按期支付。\n\n总体来看，我方对服务表示满意，感谢贵司团队的支持。\n\n此致\n敬礼"),
    ("issue", "long_formal", "关于安全检测发现问题的函", "贵司：\n\n我单位近期委托第三方机构对贵司开发的{product}进行了安全检测，发现以下高风险问题：\n1. 登录接口未做次数限制，存在暴力破解风险；\n2. 部分页面存在SQL注入漏洞；\n3. 用户密码以明文形式存储。\n根据相关规定，上述问题须在{when}完成整改，请贵司尽快给出整改方案和时间表。\n\n特此函告。"),
    ("change_request", "long_formal", "关于调整项目范围的函", "贵司：\n\n经我方项目领导小组研究，现提出以下调整意见：一是报表模块增加集团合并报表功能；二是上线时间顺延四周，以便完成内部培训；三是交付文档需提供中英文两个版本。上述调整可能影响费用和工期，请贵司评估后重新报价。\n\n此致"),
    ("none", "human_noise", "代开发票", "您好！本公司常年代开各地增值税发票、普通发票，点数优惠，可先验票后付款。联系电话：138-0000-0000 陈经理"),
    ("none", "human_noise", "【重要】邮箱账户升级通知", "尊敬的用户：\n\n您的邮箱即将到期停用，请于24小时内点击下方链接完成账户验证，逾期将无法收发邮件。\n\nhttp://mail-upgrade-center.example\n\n系统管理员"),
    ("none", "human_noise", "回复：合作", "老板您好，我们是专业做网站推广的，百度首页排名包月只要999元，不上首页不收费，有兴趣加微信详聊。"),
    ("none", "human_noise", "财务急事", "在吗？我在开会不方便接电话，有笔供应商的款今天必须付，你先加一下这个QQ我把账户发给你，这事先别跟别人说。"),
    ("none", "human_noise", "{product}电子合同待签署", "您有一份电子合同待签署：《{product}服务补充协议》\n请在48小时内点击下方链接登录查看并签署，过期失效。\nhttp://esign-doc.example/s/8823"),
    ("none", "human_noise", "工资补贴领取通知", "各位员工：根据最新政策，本年度个人所得税补贴现已开放申领，请扫描附件二维码填写银行卡信息领取，截止今天下午五点。"),
    ("none", "human_noise", "恭喜您中奖", "恭喜您的邮箱被抽中为本月幸运用户，可免费领取价值2999元的大礼包，请回复姓名、电话和收货地址。"),
]
HANT = [
    ("issue", "plain", "{product}進不去", "{us}您好，\n\n今天早上開始{product}一直顯示「系統維護中」，可是你們沒有通知要維護，櫃台現在完全沒辦法作業，麻煩盡快處理。"),
    ("issue", "plain", "{thing}有問題", "你好，{thing}的金額跟我們會計系統對不起來，十月份差了兩千多元，請幫忙查一下。"),
    ("issue", "plain", "收唔到驗證碼", "有幾個客人話登記嗰陣收唔到SMS驗證碼，等咗十分鐘都冇，琴日仲係正常嘅，唔該幫手睇下。"),
    ("issue", "plain", "緊急：重複扣款", "{us}，今天有好幾位客人反映被重複扣款，客服已經接到很多抱怨，請立刻處理！"),
    ("issue", "plain", "網頁好慢", "呢排個{product}慢到癲，開一頁要成半分鐘，同事都投訴緊。"),
    ("issue", "plain", "權限怪怪的", "我們發現一般員工帳號也看得到全公司的薪資資料，這個很嚴重，請盡快修正。"),
    ("change_request", "plain", "想新增功能", "{us}你好，老闆看完後想加{feature}，麻煩評估一下工時和費用。"),
    ("change_request", "plain", "首頁改圖", "首頁橫幅請換成附件這三張圖，文字改成「冬季新品 限時八折」，謝謝。"),
    ("change_request", "plain", "延後上線", "因為我們內部教育訓練還沒完成，想把上線日期從{when}延後兩週，請看看對時程的影響。"),
    ("change_request", "plain", "可唔可以加英文版", "下個月開始有外國客，{product}要有英文版，唔該報個價同埋講下要幾耐。"),
    ("change_request", "plain", "調整順序", "開會討論後，{feature}先暫緩，優先處理{thing}，麻煩調整後面的排程。"),
    ("feedback", "plain", "謝謝大家", "新版上線後同事反應都很好，比以前好用很多，辛苦了！"),
    ("feedback", "plain", "回覆：幾個問題", "回答你們的問題：\n1. 舊資料不用轉\n2. 價格都含稅\n3. 下週我出差，有事請找小陳@@question"),
    ("feedback", "plain", "開會時間", "星期四下午兩點可以，我們會派三位過去。"),
    ("feedback", "plain", "回覆：報價", "報價OK，同意照這個進行。@@estimate"),
    ("feedback", "confirmation", "回覆：{thing}錯誤", "可以了，剛剛測過沒問題，感謝！@@bug"),
    ("feedback", "confirmation", "RE: 登入失敗", "搞掂，而家登入到啦，唔該晒你哋咁快處理。@@fixed"),
    ("feedback", "confirmation", "驗收確認", "{us}您好，{milestone}驗收測試已全部通過，上次回報的三個bug也複測過，都已修正。簽名版驗收單如附件。@@fixed"),
    ("feedback", "confirmation", "回覆：付款異常", "今天一整天都沒再發生，應該是好了，謝謝。@@fixed"),
    ("issue", "confirmation", "回覆：{thing}錯誤", "還是不行耶，一樣的錯誤訊息，快取也清過了。@@fixed"),
    ("feedback", "status", "進度如何", "{us}，{milestone}現在進度如何？{when}來得及嗎？"),
    ("feedback", "status", "有冇更新", "呢單嘢有冇最新進展？兩個禮拜冇消息喇。"),
    ("feedback", "status", "關於溝通", "老實說，我們對最近的溝通不太滿意，每次延期都是我們問了才知道，希望之後每週主動回報進度。"),
    ("feedback", "status", "回覆：本週進度", "收到，進度不錯，期待下週的展示。@@update"),
    ("change_request", "two_asks", "回覆：報價", "報價同意，可以開始。另外再加一個匯出PDF的按鈕。@@estimate"),
    ("issue", "two_asks", "兩件事", "兩件事：\n1. 急！官網聯絡表單送不出去，這週一封都沒收到。\n2. 之後有空可以加英文版，不急。"),
    ("feedback", "two_asks", "回覆：發票同會議", "發票收到，唔該。星期二朝早十點開會冇問題。@@question"),
    ("change_request", "two_asks", "RE: 報表錯誤", "謝謝修好了。順便把報表預設排序改成日期新到舊，這個比較重要。@@fixed"),
    ("none", "human_noise", "代開發票", "您好，本公司代開各類統一發票，點數優惠，先驗後付，請加LINE詳談。"),
    ("none", "human_noise", "【通知】信箱容量已滿", "親愛的用戶您好：您的信箱容量已滿，請於24小時內點擊以下連結驗證帳號，否則將停止收信。\nhttp://webmail-verify.example"),
    ("none", "human_noise", "急事", "你喺唔喺度？我而家開緊會唔方便聽電話，有筆數今日要過俾新供應商，你加我WhatsApp我send戶口俾你，暫時唔好同其他人講。"),
    ("none", "human_noise", "恭喜中獎", "恭喜您的信箱獲選為本月幸運用戶，可免費領取價值NT$3000禮券，請回覆姓名、電話與地址。"),
]
MIXED = [
    ("issue", "plain", "{product} login 有问题", "Hi {us}，今天早上开始 {product} 的 login page 一直 loading，进不去，iOS 和 Android 都一样。Please check ASAP，门店在等。"),
    ("issue", "plain", "report 數字錯咗", "Hi，monthly report 入面 total 同 finance system 對唔上，差咗兩千幾蚊，可唔可以 check 下邊度計錯？"),
    ("issue", "plain", "payment callback fail", "支付成功以后 order status 没有更新，log 里面是 timeout，已经有十几单了，urgent！"),
    ("change_request", "plain", "想加 dark mode", "Hi {us}，user 反馈想要 dark mode，顺便把 font size 调大一点，可以 estimate 一下吗？"),
    ("change_request", "plain", "launch date 延後", "Hi，因為 marketing campaign 改期，launch 想由 {when} 延後兩個禮拜，timeline 會唔會有影響？"),
    ("change_request", "plain", "加一个 export 功能", "Boss 想要一个 export to Excel 的 function，按 department 分 sheet，这个不在原来的 scope 里，请 quote 一下。"),
    ("feedback", "plain", "Thanks team", "新版 UI 大家都说 nice，比之前好用很多，good job！"),
    ("feedback", "plain", "Re: meeting", "Thursday 2pm OK，我们三个人会 join。"),
    ("feedback", "confirmation", "Re: {thing} error", "OK 了，刚 test 过没问题，thanks！@@bug"),
    ("feedback", "confirmation", "RE: outage", "The outage is resolved on our side, 系统已经恢复正常，thanks for the quick fix.@@fixed"),
    ("feedback", "confirmation", "Re: login issue", "搞掂，而家 login 到，thx 🙏@@fixed"),
    ("issue", "confirmation", "Re: {thing} error", "还是有 error，same as before，cache 也清了。@@fixed"),
    ("feedback", "status", "progress?", "Hi {us}，{milestone} 现在进度怎么样？{when} 能 deliver 吗？"),
    ("feedback", "status", "Any update?", "呢個 case 有冇 update？兩個 weeks 冇消息喇。"),
    ("feedback", "status", "communication", "To be honest，最近的 communication 不太好，每次 delay 都是我们问了才知道。希望每周主动 update 一下。"),
    ("change_request", "two_asks", "Re: quotation", "Quotation OK，go ahead。另外 can you also add 一个 PDF download 按钮？@@estimate"),
    ("issue", "two_asks", "2 things", "2 things：\n1. URGENT！contact form submit 唔到，成個禮拜冇 enquiry。\n2. 有時間可以加 English version，唔急。"),
    ("none", "human_noise", "Re: SEO 推广", "Hi 老板，我们做 Google SEO，保证 first page，每月只要 $199，有兴趣加 WeChat 详谈。"),
    ("none", "human_noise", "Account verify", "Dear user，你的 email account 即将 expire，请在 24 hours 内 click 下面 link verify：http://verify-mailbox.example"),
]

# ---------------------------------------------------------------- threads that get quoted
HISTORY = {
    "en": {
        "bug": ("{client}", "Hi, {thing} is broken since this morning - we get \"Error 500 - something went wrong\" every time. Customers are complaining. Please fix urgently."),
        "fixed": ("{agency}", "Hi, we found the cause (a failed database migration) and deployed a fix at 14:20. Could you check on your side whether the error is gone?\n\nBest, the project team"),
        "question": ("{agency}", "A few questions before we start the import: do we keep the old customer numbers? Are prices with or without VAT? Who is the contact during your holiday?"),
        "estimate": ("{agency}", "As discussed, the estimate for the change is 3.5 days ({amount} EUR). Please confirm and we will schedule it for the next sprint."),
        "update": ("{agency}", "Weekly update: the payment module is done and in testing; next week we start on the reports. No blockers at the moment."),
    },
    "zh": {
        "bug": ("{client}", "你好，{thing}从早上开始报错，提示\"系统异常，请稍后再试\"，顾客都在投诉，请尽快修复。"),
        "fixed": ("{agency}", "您好，问题原因已经找到（数据库迁移失败），14:20已发布修复，请在贵方确认一下错误是否已消失。"),
        "question": ("{agency}", "导入前有几个问题想确认：旧的客户编号要保留吗？价格含税吗？您休假期间找谁？"),
        "estimate": ("{agency}", "按照沟通的内容，这个变更的工作量是3.5人天，费用{amount}元，请确认后我们排入下个迭代。"),
        "update": ("{agency}", "本周进展：支付模块已完成，正在测试；下周开始做报表，目前没有阻塞。"),
    },
    "hant": {
        "bug": ("{client}", "您好，{thing}從早上開始出現錯誤，顯示「系統異常，請稍後再試」，客人都在抱怨，請盡快修正。"),
        "fixed": ("{agency}", "您好，原因已找到（資料庫轉移失敗），14:20已上線修正，請協助確認錯誤是否消失。"),
        "question": ("{agency}", "匯入前想確認幾件事：舊客戶編號要保留嗎？價格含稅嗎？您休假期間請找哪位？"),
        "estimate": ("{agency}", "依討論內容，這項變更工時為3.5人天，費用{amount}元，確認後我們排入下個迭代。"),
        "update": ("{agency}", "本週進度：付款模組已完成並在測試中；下週開始做報表，目前沒有卡關。"),
    },
}
AGENCY = ("Marta Kovač", "marta.kovac@agency.example")

# ---------------------------------------------------------------- quoting styles
def _date_en(rng: Random) -> str:
    day = rng.randrange(1, 28)
    return f"Tue, {day} Nov 2026 at {rng.randrange(8, 19)}:{rng.randrange(60):02d}"


def quote_gmail_en(who: tuple[str, str], text: str, rng: Random) -> str:
    lines = "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))
    return f"\n\nOn {_date_en(rng)}, {who[0]} <{who[1]}> wrote:\n\n{lines}\n"


def quote_outlook_en(who: tuple[str, str], text: str, rng: Random) -> str:
    return (
        f"\n\n________________________________\nFrom: {who[0]} <{who[1]}>\n"
        f"Sent: Tuesday, November {rng.randrange(1, 28)}, 2026 {rng.randrange(1, 12)}:{rng.randrange(60):02d} AM\n"
        f"To: Project Team <team@agency.example>\nSubject: RE: project\n\n{text}\n"
    )


def quote_outlook_classic(who: tuple[str, str], text: str, rng: Random) -> str:
    return (
        f"\n\n-----Original Message-----\nFrom: {who[0]} [mailto:{who[1]}]\n"
        f"Sent: {rng.randrange(1, 28)} November 2026 10:{rng.randrange(60):02d}\nTo: Team\nSubject: project\n\n{text}\n"
    )


def quote_iphone_en(who: tuple[str, str], text: str, rng: Random) -> str:
    lines = "\n".join(f"> {line}" for line in text.split("\n"))
    return (
        f"\n\nSent from my iPhone\n\n> On {rng.randrange(1, 28)} Nov 2026, at {rng.randrange(8, 19)}:{rng.randrange(60):02d}, "
        f"{who[0]} <{who[1]}> wrote:\n> \n{lines}\n"
    )


def quote_qq(who: tuple[str, str], text: str, rng: Random) -> str:
    return (
        f"\n\n------------------&nbsp;原始邮件&nbsp;------------------\n".replace("&nbsp;", " ")
        + f"发件人: \"{who[0]}\"<{who[1]}>;\n发送时间: 2026年11月{rng.randrange(1, 28)}日(星期二) 上午10:{rng.randrange(60):02d}\n"
        f"收件人: \"项目组\"<team@agency.example>;\n主题: 回复：项目\n\n{text}\n"
    )


def quote_qq_english(who: tuple[str, str], text: str, rng: Random) -> str:
    return (
        "\n\n------------------ Original ------------------\n"
        f"From: \"{who[0]}\"<{who[1]}>;\nDate: Tue, Nov {rng.randrange(1, 28)}, 2026 10:{rng.randrange(60):02d} AM\n"
        f"To: \"Team\"<team@agency.example>;\nSubject: Re: project\n\n{text}\n"
    )


def quote_foxmail(who: tuple[str, str], text: str, rng: Random) -> str:
    return (
        f"\n\n{who[1]}\n \nFrom: {who[0]}\nDate: 2026-11-{rng.randrange(10, 28)} 10:{rng.randrange(60):02d}\n"
        f"To: team@agency.example\nSubject: 回复: 项目\n{text}\n"
    )


def quote_163(who: tuple[str, str], text: str, rng: Random) -> str:
    lines = "\n".join(f">{line}" for line in text.split("\n"))
    return f"\n\n\n在 2026-11-{rng.randrange(10, 28)} 10:{rng.randrange(60):02d}:{rng.randrange(60):02d}，\"{who[0]}\" <{who[1]}> 写道：\n{lines}\n"


def quote_outlook_zh(who: tuple[str, str], text: str, rng: Random) -> str:
    return (
        f"\n\n发件人: {who[0]} <{who[1]}>\n发送时间: 2026年11月{rng.randrange(1, 28)}日 10:{rng.randrange(60):02d}\n"
        f"收件人: 项目组 <team@agency.example>\n主题: 回复: 项目\n\n{text}\n"
    )


def quote_outlook_tw(who: tuple[str, str], text: str, rng: Random) -> str:
    return (
        f"\n\n寄件者: {who[0]} <{who[1]}>\n寄件日期: 2026年11月{rng.randrange(1, 28)}日 上午 10:{rng.randrange(60):02d}\n"
        f"收件者: 專案小組 <team@agency.example>\n主旨: 回覆: 專案\n\n{text}\n"
    )


def quote_iphone_zh(who: tuple[str, str], text: str, rng: Random) -> str:
    lines = "\n".join(f"> {line}" for line in text.split("\n"))
    return f"\n\n发自我的iPhone\n\n> 在 2026年11月{rng.randrange(1, 28)}日，10:{rng.randrange(60):02d}，{who[0]} <{who[1]}> 写道：\n> \n{lines}\n"


QUOTERS = {
    "en": [quote_gmail_en, quote_outlook_en, quote_outlook_classic, quote_iphone_en, quote_qq_english],
    "zh-Hans": [quote_qq, quote_foxmail, quote_163, quote_outlook_zh, quote_iphone_zh, quote_gmail_en],
    "zh-Hant": [quote_outlook_tw, quote_gmail_en, quote_iphone_en, quote_qq],
    "mixed": [quote_gmail_en, quote_qq, quote_outlook_en, quote_163],
}

DISCLAIMER_EN = (
    "\n\nCONFIDENTIALITY NOTICE: This e-mail and any attachments are confidential and may be "
    "legally privileged. If you are not the intended recipient, please notify the sender and "
    "delete it. Any unauthorised use or disclosure is prohibited."
)
DISCLAIMER_ZH = "\n\n【保密声明】本邮件及其附件含有保密信息，仅限于发送给上面地址中列出的个人或群组。如果您错收了本邮件，请立即电话或邮件通知发件人并删除本邮件。"


# ---------------------------------------------------------------- assembling a mail
def _fill(text: str, chosen: dict[str, str]) -> str:
    for key, value in chosen.items():
        text = text.replace("{" + key + "}", value)
    return text


def _slots(rng: Random, bank: dict[str, list[str]]) -> dict[str, str]:
    return {key: rng.choice(values) for key, values in bank.items()}


def _signature(lang: str, person: tuple, rng: Random) -> str:
    name, role, company, _domain, closing = person
    if rng.random() < 0.15:
        return ""
    if lang == "en":
        lines = [closing, name, f"{role} | {company}"]
        if rng.random() < 0.5:
            lines.append(f"T +44 20 {rng.randrange(1000, 9999)} {rng.randrange(1000, 9999)}")
        return "\n\n" + "\n".join(lines)
    sep = "--\n" if rng.random() < 0.4 else ""
    return f"\n\n{closing}\n{sep}{name}\n{company} {role}\n电话：0571-{rng.randrange(10**7, 10**8)}"


def build(
    rng: Random, number: int, lang: str, scenario: tuple, people: list, slots: dict, history: dict
) -> tuple[Mail, str]:
    label, family, subject, body = scenario
    person = rng.choice(people)
    name, _role, company, domain, _closing = person
    chosen = _slots(rng, slots)
    fill = lambda text: _fill(text, chosen)  # noqa: E731
    subject, body = fill(subject), fill(body)
    kind = None
    if "@@" in body:
        body, kind = body.split("@@", 1)
    local = name.split()[0].lower() if lang == "en" else f"user{rng.randrange(100, 999)}"
    local = unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode() or "client"
    addr = f"{local}@{domain}"
    if rng.random() < 0.2:
        addr = f"{local}{rng.randrange(10, 99)}@{rng.choice(FREEMAIL['en' if lang == 'en' else 'zh'])}"
    is_noise = label == "none"
    if is_noise:
        name = rng.choice(["Ryan Cole", "IT Helpdesk", "陈经理", "Finance Dept", "DocuSafe", "客服中心", ""])
        addr = rng.choice(["ryan@growth-seo.example", "helpdesk@secure-mail-check.example",
                           "ceo.office@" + domain.replace(".", "-") + ".example", "billing@docs-pay.example",
                           "noreply@esign-cloud.example", f"user{rng.randrange(1000)}@163.example"])
    style = "plain"
    text = body
    if not is_noise:
        text += _signature(lang, person, rng)
        if rng.random() < 0.15:
            text += DISCLAIMER_EN if lang == "en" else DISCLAIMER_ZH
    if kind is not None:
        key = "en" if lang == "en" else ("hant" if lang == "zh-Hant" else "zh")
        if lang == "mixed":
            key = rng.choice(["en", "zh"])
        who_tag, quoted = history[key][kind]
        quoted = fill(quoted)
        who = AGENCY if who_tag == "{agency}" else (name, addr)
        quoter = rng.choice(QUOTERS[lang])
        style = quoter.__name__.removeprefix("quote_")
        text += quoter(who, quoted, rng)
        if not subject.lower().startswith(("re", "回复", "回覆", "答复")):
            subject = rng.choice(["Re: ", "RE: ", "回复："] if lang != "en" else ["Re: ", "RE: "]) + subject
    mail = Mail(
        id=f"dev-{number:04d}",
        label=label,
        lang=lang,
        family=family,
        style=style,
        from_name=name if rng.random() < 0.9 else "",
        from_addr=addr,
        subject=subject,
        text=text,
        in_reply_to=f"ack{rng.randrange(10**6)}@agency.example" if kind else None,
    )
    roll = rng.random()
    if style == "plain" and roll < 0.18 and not is_noise:
        paragraphs = [p for p in text.split("\n\n") if p.strip()]
        table = None
        if family in ("long_formal", "status") or rng.random() < 0.4:
            table = [["Item", "Status", "Owner"] if lang == "en" else ["事项", "状态", "负责人"],
                     [chosen["milestone"], chosen["when"], name]]
        mail.html, mail.text = html_page(paragraphs, table), None
        mail.style = "html_only_table" if table else "html_only"
    elif roll > 0.93 and not is_noise:
        mail.attachments.append(("signed.pdf" if family == "confirmation" else "screenshot.png",
                                 "application/pdf" if family == "confirmation" else "image/png"))
    if lang in ("zh-Hans", "zh-Hant") and mail.text is not None and rng.random() < 0.3:
        mail.charset = "gb18030" if lang == "zh-Hans" else "big5"
        try:
            mail.text.encode(mail.charset)
        except UnicodeEncodeError:
            mail.charset = "utf-8"
    if is_noise and rng.random() < 0.3 and "Re:" not in subject:
        mail.subject = "Re: " + subject
    return mail, company


ROBOT = [
    ("Out of Office: {subject}", "I am out of the office until Monday with limited access to email. For urgent matters please contact reception.", [("Auto-Submitted", "auto-replied"), ("X-Autoreply", "yes")]),
    ("自动回复：{subject}", "您好，我正在休假，期间不能及时回复邮件，紧急事务请联系前台。", [("Auto-Submitted", "auto-replied")]),
    ("Undelivered Mail Returned to Sender", "This is the mail system at host mx.example.\n\nI'm sorry to have to inform you that your message could not be delivered to one or more recipients.\n\n<nobody@client.example>: host said: 550 5.1.1 User unknown", [("Auto-Submitted", "auto-generated")]),
    ("Our November newsletter", "Hello! Here is what happened this month at our company: new products, events and offers. Unsubscribe any time.", [("List-Unsubscribe", "<mailto:unsubscribe@news.example>"), ("Precedence", "bulk")]),
    ("Read: project", "Your message was read on Tuesday, 24 November 2026 10:12.", [("Content-Class", "urn:content-classes:MDNRead")]),
]


def generate(seed: int) -> list[tuple[Mail, bytes]]:
    rng = Random(seed)
    plan = [("en", EN, EN_PEOPLE, SLOTS_EN, 300), ("zh-Hans", ZH, ZH_HANS_PEOPLE, SLOTS_ZH, 180),
            ("zh-Hant", HANT, ZH_HANT_PEOPLE, SLOTS_HANT, 100), ("mixed", MIXED, MIXED_PEOPLE, SLOTS_ZH, 80)]
    start = datetime(2026, 11, 2, tzinfo=UTC)
    out: list[tuple[Mail, bytes]] = []
    number = 0
    for lang, scenarios, people, slots, count in plan:
        order = [scenarios[i % len(scenarios)] for i in range(count)]
        rng.shuffle(order)
        for scenario in order:
            mail, _company = build(rng, number, lang, scenario, people, slots, HISTORY)
            out.append((mail, render(mail, rng, moment(rng, start, 25, 8 if lang != "en" else 0))))
            number += 1
    for i in range(40):
        subject, text, headers = ROBOT[i % len(ROBOT)]
        lang = "en" if not any("\u4e00" <= c <= "\u9fff" for c in text) else "zh-Hans"
        mail = Mail(id=f"dev-{number:04d}", label="none", lang=lang, family="robot_noise",
                    style="robot", from_name="", from_addr=rng.choice(["noreply@client.example", "mailer-daemon@mx.example", "news@news.example", "anna@client.example"]),
                    subject=subject.format(subject=rng.choice(["Project update", "项目进度"])), text=text, extra=list(headers))
        out.append((mail, render(mail, rng, moment(rng, start, 25, 0))))
        number += 1
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "dev")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    mails = generate(args.seed)
    write_set(mails, args.out)
    print(f"wrote {len(mails)} mails to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
