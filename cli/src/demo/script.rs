//! The demo's script: three days of a sales floor as a timeline of steps, each a form
//! post, a marketing tool's webhook, more signals for a known lead, or a sales decision.
//! Data, laid out so a reader can follow each lead; nothing here talks to AWS.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};

/// One thing that happens at a simulated time.
pub(super) struct Step {
    pub(super) at: DateTime<Utc>,
    pub(super) what: What,
}

pub(super) enum What {
    /// A plain HTML form on the website, posted unsigned as
    /// `application/x-www-form-urlencoded` (the public lane).
    Form {
        email: String,
        fields: Vec<(String, String)>,
    },
    /// The CRM's webhook: the lead with its recent behaviour, as JSON, signed as the
    /// `crm` source.
    Webhook { email: String, body: Value },
    /// More signals for a known lead, signed as the `crm` source.
    Signals { email: String, body: Value },
    /// Sales accepts, rejects, qualifies or logs a touch.
    Dispose {
        email: String,
        action: String,
        body: Value,
    },
}

impl Step {
    /// A new submission to `POST /leads` (not more signals, not a decision).
    pub(super) fn is_submission(&self) -> bool {
        matches!(self.what, What::Form { .. } | What::Webhook { .. })
    }
}

/// Who a lead is, as a form or a marketing tool describes them.
#[derive(Clone, Copy)]
struct Person {
    email: &'static str,
    name: &'static str,
    title: &'static str,
    company: &'static str,
    /// 0: the form did not ask.
    employees: u32,
    industry: &'static str,
    country: &'static str,
}

fn person(
    email: &'static str,
    name: &'static str,
    title: &'static str,
    company: &'static str,
    employees: u32,
    industry: &'static str,
    country: &'static str,
) -> Person {
    Person {
        email,
        name,
        title,
        company,
        employees,
        industry,
        country,
    }
}

impl Person {
    fn fields(&self) -> Vec<(String, String)> {
        let (first, last) = self.name.split_once(' ').unwrap_or((self.name, ""));
        let employees = if self.employees > 0 {
            self.employees.to_string()
        } else {
            String::new()
        };
        [
            ("email", self.email),
            ("first_name", first),
            ("last_name", last),
            ("title", self.title),
            ("company", self.company),
            ("employees", employees.as_str()),
            ("industry", self.industry),
            ("country", self.country),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn json(&self) -> Map<String, Value> {
        self.fields()
            .into_iter()
            .map(|(k, v)| {
                let value = match (k.as_str(), v.parse::<u64>()) {
                    ("employees", Ok(n)) => json!(n),
                    _ => Value::String(v),
                };
                (k, value)
            })
            .collect()
    }
}

/// Builds the timeline; steps are sorted by time when it is done.
struct Scenario {
    monday: DateTime<Utc>,
    steps: Vec<Step>,
}

impl Scenario {
    /// UTC time `hh:mm` on day `day` (0 = Monday).
    fn at(&self, day: i64, hh: i64, mm: i64) -> DateTime<Utc> {
        self.monday - Duration::hours(9)
            + Duration::days(day)
            + Duration::hours(hh)
            + Duration::minutes(mm)
    }

    fn push(&mut self, at: DateTime<Utc>, what: What) {
        self.steps.push(Step { at, what });
    }

    /// A public website form (`demo` or `contact_sales` of the contract's
    /// `[intake.forms]`) whose hidden `signal` field names its signal; `message`
    /// becomes the signal's detail.
    fn form(&mut self, at: DateTime<Utc>, signal: &str, message: &str, p: Person) -> &'static str {
        let form = if signal == "demo_request" {
            "demo"
        } else {
            signal
        };
        let mut fields = p.fields();
        fields.extend(
            [
                ("form", form),
                ("campaign", "q4-demo-page"),
                ("signal", signal),
                ("message", message),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        self.push(
            at,
            What::Form {
                email: p.email.into(),
                fields,
            },
        );
        p.email
    }

    /// A form a bot filled in, hidden honeypot field included.
    fn bot_form(&mut self, at: DateTime<Utc>, p: Person) {
        let mut fields = p.fields();
        fields.push(("form".into(), "demo".into()));
        fields.push(("signal".into(), "demo_request".into()));
        fields.push((
            "website_url".into(),
            "https://best-backlinks.example".into(),
        ));
        self.push(
            at,
            What::Form {
                email: p.email.into(),
                fields,
            },
        );
    }

    /// A marketing tool's webhook with the lead's recent signals.
    fn webhook(
        &mut self,
        at: DateTime<Utc>,
        source: &str,
        campaign: &str,
        p: Person,
        signals: Vec<Value>,
    ) -> &'static str {
        let mut body = p.json();
        body.insert("source".into(), json!(source));
        body.insert("campaign".into(), json!(campaign));
        body.insert("signals".into(), Value::Array(signals));
        self.push(
            at,
            What::Webhook {
                email: p.email.into(),
                body: Value::Object(body),
            },
        );
        p.email
    }

    /// The usual road to a scored MQL: two pricing-page visits and a LinkedIn reply
    /// with a question, over the day before.
    fn engaged(&mut self, at: DateTime<Utc>, p: Person) -> &'static str {
        let signals = vec![
            page("pricing_page_visit", at - Duration::hours(20), 140),
            page("pricing_page_visit", at - Duration::hours(3), 60),
            said(
                "linkedin_reply",
                at - Duration::hours(1),
                "does it sync with HubSpot?",
            ),
        ];
        self.webhook(at, "linkedin", "revops-guide", p, signals)
    }

    /// A reader: blog views and email opens only, which the contract caps below the MQL
    /// intent minimum.
    fn reader(&mut self, at: DateTime<Utc>, p: Person) {
        let signals = vec![
            plain("blog_view", at - Duration::hours(5)),
            plain("blog_view", at - Duration::hours(30)),
            plain("email_open", at - Duration::hours(48)),
            plain("email_click", at - Duration::hours(2)),
        ];
        self.webhook(at, "blog", "newsletter", p, signals);
    }

    fn signals(&mut self, at: DateTime<Utc>, email: &str, signals: Vec<Value>) {
        self.push(
            at,
            What::Signals {
                email: email.into(),
                body: json!({ "signals": signals }),
            },
        );
    }

    fn decide(&mut self, at: DateTime<Utc>, email: &str, action: &str, body: Value) {
        self.push(
            at,
            What::Dispose {
                email: email.into(),
                action: action.into(),
                body,
            },
        );
    }

    fn accept(&mut self, at: DateTime<Utc>, email: &str, by: &str) {
        self.decide(at, email, "accept", json!({ "by": by }));
    }

    fn reject(&mut self, at: DateTime<Utc>, email: &str, by: &str, reason: &str, note: &str) {
        self.decide(
            at,
            email,
            "reject",
            json!({ "by": by, "reason": reason, "note": note }),
        );
    }
}

fn plain(kind: &str, at: DateTime<Utc>) -> Value {
    json!({ "type": kind, "at": at.to_rfc3339() })
}

fn page(kind: &str, at: DateTime<Utc>, seconds: u32) -> Value {
    json!({ "type": kind, "at": at.to_rfc3339(), "seconds_on_page": seconds })
}

fn said(kind: &str, at: DateTime<Utc>, text: &str) -> Value {
    json!({ "type": kind, "at": at.to_rfc3339(), "detail": text, "question": text.contains('?') })
}

/// Three days of leads and of what sales does with them. Each team gets MQLs accepted
/// in time, and most get one accepted late, one rejected with a coded reason, and one
/// left to breach, escalate and (if the ladder ends within the three days) expire.
// Laid out by hand as a table: one lead per statement, its person on one line.
#[rustfmt::skip]
pub(super) fn scenario(monday: DateTime<Utc>) -> Vec<Step> {
    let mut s = Scenario { monday, steps: Vec::new() };
    let (kim, joe, amy, raj, eva) = (
        "ae.kim@seller.io", "ae.joe@seller.io", "sdr.amy@seller.io", "sdr.raj@seller.io", "sdr.eva@seller.io",
    );

    // ---- Monday, London's morning (the office is open 09:00-17:30 UTC).
    let lena = s.form(s.at(0, 9, 20), "demo_request", "Can you host our data in the EU?",
        person("lena.fischer@initech.de", "Lena Fischer", "Head of Sales", "Initech", 500, "saas", "DE"));
    s.accept(s.at(0, 9, 45), lena, joe);

    let una = s.engaged(s.at(0, 9, 40),
        person("una.kerr@tyrell.ie", "Una Kerr", "Director of Revenue Operations", "Tyrell", 300, "software", "IE"));
    s.accept(s.at(0, 10, 10), una, raj);

    s.form(s.at(0, 9, 55), "demo_request", "Can I get a free licence for my thesis?",
        person("sam.lee@state.edu", "Sam Lee", "Graduate Student", "State University", 0, "", "US"));

    // Nobody picks this one up: warning, breach, head of sales twice, back to nurture.
    s.engaged(s.at(0, 10, 15),
        person("vik.rao@cyberdyne.nl", "Vik Rao", "Head of Sales Operations", "Cyberdyne", 700, "saas", "NL"));

    s.form(s.at(0, 10, 30), "contact_sales", "We can 10x your pipeline. 15 minutes this week?",
        person("pat.doyle@outreachly.example", "Pat Doyle", "Account Executive", "Outreachly", 40, "", "US"));

    // Accepted only after the breach went to the manager and on to the head of sales.
    let omar = s.form(s.at(0, 10, 45), "demo_request", "Can we trial it with two teams?",
        person("omar.said@wayne.co.uk", "Omar Said", "VP Revenue", "Wayne Enterprises", 350, "software", "GB"));
    s.accept(s.at(0, 13, 10), omar, joe);

    let tom = s.engaged(s.at(0, 11, 0),
        person("tom.hale@soylent.co.uk", "Tom Hale", "Director of Sales Operations", "Soylent", 250, "saas", "GB"));
    s.reject(s.at(0, 11, 40), tom, raj, "not_icp", "Soylent sells to consumers only");

    s.reader(s.at(0, 11, 20),
        person("max.braun@contoso.de", "Max Braun", "Marketing Specialist", "Contoso", 120, "retail", "DE"));

    // 06:40 in New York: the fast-lane hour starts when the office opens at 09:00.
    let dev = s.form(s.at(0, 11, 40), "demo_request", "Can it route leads by territory?",
        person("dev.shah@initrode-na.com", "Dev Shah", "Head of Sales", "Initrode", 1200, "saas", "US"));
    s.accept(s.at(0, 14, 50), dev, kim);

    // Australia has no team of its own: fast-lane leads from the rest of the world go to London.
    let jack = s.form(s.at(0, 12, 0), "demo_request", "Is pricing available in AUD?",
        person("jack.wilson@koala.com.au", "Jack Wilson", "CRO", "Koala", 400, "software", "AU"));
    s.reject(s.at(0, 12, 20), jack, joe, "duplicate", "same buyer as jack.w@koala.com.au, demo already booked");

    let nina = s.engaged(s.at(0, 12, 30),
        person("nina.berg@nordlys.se", "Nina Berg", "Director of Marketing Operations", "Nordlys", 800, "fintech", "SE"));
    s.reject(s.at(0, 13, 30), nina, raj, "bad_data", "phone and company do not match the email domain");

    s.reader(s.at(0, 12, 50),
        person("ana.silva@adventure-works.co.uk", "Ana Silva", "Content Lead", "Adventure Works", 90, "ecommerce", "GB"));

    let mia = s.engaged(s.at(0, 13, 10),
        person("mia.kelly@kiwi.co.nz", "Mia Kelly", "VP Marketing", "Kiwi Software", 220, "software", "NZ"));
    s.accept(s.at(0, 14, 0), mia, raj);

    s.form(s.at(0, 13, 45), "demo_request", "How do you handle lead routing?",
        person("alex.smith@rivalcrm.example", "Alex Smith", "Product Manager", "RivalCRM", 300, "software", "US"));

    // ---- Monday, New York's day (the office is open 14:00-22:00 UTC).
    let ava = s.form(s.at(0, 14, 5), "demo_request", "Can we see the Salesforce sync?",
        person("ava.ng@acme-na.com", "Ava Ng", "VP Sales", "Acme", 450, "saas", "US"));
    s.accept(s.at(0, 14, 17), ava, kim);
    s.decide(s.at(0, 14, 40), ava, "touch", json!({ "by": kim }));
    s.decide(s.at(1, 16, 0), ava, "qualify", json!({ "by": kim }));

    // An ABM account of over 1000 people: the enterprise SDRs.
    let kai = s.webhook(s.at(0, 14, 20), "hubspot", "abm-enterprise",
        person("kai.lopez@cyberdyne-na.com", "Kai Lopez", "VP Sales Operations", "Cyberdyne Systems", 5000, "software", "US"),
        vec![
            page("comparison_page_visit", s.at(0, 13, 0), 200),
            page("pricing_page_visit", s.at(0, 13, 30), 95),
            said("email_reply", s.at(0, 14, 10), "Can we cover 40 SDRs across three regions?"),
        ]);
    s.accept(s.at(0, 14, 50), kai, eva);

    let dan = s.engaged(s.at(0, 14, 30),
        person("dan.wu@umbrella-na.com", "Dan Wu", "Director of Revenue Operations", "Umbrella", 300, "software", "US"));
    s.accept(s.at(0, 15, 10), dan, amy);
    s.decide(s.at(1, 19, 0), dan, "qualify", json!({ "by": "ae.lee@seller.io" }));

    let eve = s.engaged(s.at(0, 14, 45),
        person("eve.park@prestige-na.com", "Eve Park", "Director of Sales Operations", "Prestige", 260, "saas", "US"));
    s.reject(s.at(0, 15, 45), eve, amy, "no_intent", "downloaded the guide for a class project");

    let ben = s.form(s.at(0, 15, 10), "demo_request", "What is the price for 60 seats?",
        person("ben.ortiz@globex-na.com", "Ben Ortiz", "CRO", "Globex", 800, "fintech", "CA"));
    s.accept(s.at(0, 15, 45), ben, kim);

    s.form(s.at(0, 15, 20), "demo_request", "Is there a free plan?",
        person("jo.bloggs@gmail.com", "Jo Bloggs", "Owner", "Bloggs Consulting", 12, "", "US"));

    // Left alone for two days: escalates twice and expires back to nurture.
    s.engaged(s.at(0, 15, 25),
        person("fay.cole@vandelay-na.com", "Fay Cole", "Director of Revenue Operations", "Vandelay Industries", 300, "software", "US"));

    // Good fit, one pricing visit: nurture, until Tuesday's webinar.
    let raj_patel = s.webhook(s.at(0, 15, 30), "hubspot", "forecasting-webinar",
        person("raj.patel@gringotts-na.com", "Raj Patel", "Director of Revenue Operations", "Gringotts", 400, "fintech", "US"),
        vec![page("pricing_page_visit", s.at(0, 13, 30), 60)]);

    s.reader(s.at(0, 15, 50),
        person("li.wei@fabrikam-na.com", "Li Wei", "Marketing Specialist", "Fabrikam", 150, "retail", "US"));

    // The fast-lane ladder all the way: warning, breach, head of sales twice, expiry.
    s.form(s.at(0, 16, 0), "demo_request", "Do you support SSO?",
        person("cara.li@stark-na.com", "Cara Li", "VP Marketing", "Stark Industries", 300, "software", "US"));

    let gus = s.engaged(s.at(0, 16, 10),
        person("gus.berg@massive-na.com", "Gus Berg", "Director of Revenue Operations", "Massive Dynamic", 450, "software", "US"));
    s.accept(s.at(0, 18, 40), gus, amy);

    s.bot_form(s.at(0, 16, 40), person("seo@best-backlinks.example", "SEO Team", "", "", 0, "", "US"));

    // Second-tier fit: the standard SLA of one business day.
    let hal = s.webhook(s.at(0, 17, 0), "hubspot", "pricing-retargeting",
        person("hal.moss@ferris-na.com", "Hal Moss", "Sales Manager", "Ferris Foods", 150, "ecommerce", "US"),
        vec![
            page("pricing_page_visit", s.at(0, 15, 0), 120),
            said("email_reply", s.at(0, 16, 30), "What would onboarding take?"),
            said("timeline_shared", s.at(0, 16, 30), "We want this live before Q1?"),
        ]);
    s.accept(s.at(1, 14, 30), hal, amy);

    // 17:05 in London, 25 minutes before close: due next morning, not at 18:05.
    let chloe = s.form(s.at(0, 17, 5), "demo_request", "Can we start with the marketing team only?",
        person("chloe.martin@quantum.fr", "Chloe Martin", "VP Marketing", "Quantum", 220, "saas", "FR"));
    s.accept(s.at(1, 9, 20), chloe, joe);

    // Escalated to the head of sales, then accepted.
    let lee = s.engaged(s.at(0, 18, 0),
        person("lee.adams@weyland-na.com", "Lee Adams", "Director of Revenue Operations", "Weyland-Yutani", 12000, "saas", "US"));
    s.accept(s.at(1, 16, 30), lee, eva);

    // Only ever looked at the careers page: a job seeker, not a buyer.
    s.webhook(s.at(0, 18, 10), "website", "careers",
        person("kim.diaz@coho-na.com", "Kim Diaz", "Sales Associate", "Coho Winery", 60, "retail", "US"),
        vec![
            page("careers_page_visit", s.at(0, 17, 0), 300),
            page("careers_page_visit", s.at(0, 17, 10), 200),
        ]);

    let eli = s.form(s.at(0, 18, 30), "demo_request", "Can we migrate from our current tool in Q1?",
        person("eli.ross@hooli-na.com", "Eli Ross", "VP Revenue", "Hooli", 600, "software", "US"));
    s.accept(s.at(0, 20, 5), eli, kim);

    let fran = s.form(s.at(0, 19, 0), "demo_request", "What does onboarding look like?",
        person("fran.diaz@piedpiper-na.com", "Fran Diaz", "CMO", "Pied Piper", 250, "saas", "US"));
    s.reject(s.at(0, 19, 20), fran, kim, "already_in_pipeline", "open opportunity with their CEO");

    let ivy = s.webhook(s.at(0, 19, 30), "hubspot", "pricing-retargeting",
        person("ivy.chen@tessier-na.com", "Ivy Chen", "Marketing Manager", "Tessier-Ashpool", 180, "ecommerce", "US"),
        vec![
            page("pricing_page_visit", s.at(0, 18, 0), 150),
            said("email_reply", s.at(0, 19, 0), "Do you offer reseller pricing?"),
            said("budget_acknowledged", s.at(0, 19, 0), "Budget is approved?"),
        ]);
    s.reject(s.at(1, 15, 0), ivy, amy, "not_icp", "a reseller, not an end customer");

    // 16:30 in New York: half an hour today, the other half tomorrow morning.
    let gia = s.form(s.at(0, 21, 30), "contact_sales", "Do you integrate with Outreach?",
        person("gia.moretti@vought-na.com", "Gia Moretti", "Director of Sales Operations", "Vought", 900, "ecommerce", "US"));
    s.accept(s.at(1, 14, 15), gia, kim);

    // ---- Tuesday and Wednesday.
    // Badge scans from a trade show, imported as JSON. Norway is not served.
    s.webhook(s.at(1, 10, 0), "event", "saastr-europe",
        person("ola.nord@fjord.no", "Ola Nord", "Head of Sales", "Fjord", 300, "saas", "NO"),
        vec![said("webinar_attended", s.at(0, 15, 0), "booth demo at SaaStr Europe")]);
    // Left in the queue: overdue when the demo ends.
    s.webhook(s.at(1, 10, 5), "event", "saastr-europe",
        person("pia.schmidt@stahlwerk.de", "Pia Schmidt", "Marketing Manager", "Stahlwerk", 2500, "manufacturing", "DE"),
        vec![
            said("webinar_attended", s.at(0, 15, 0), "booth demo at SaaStr Europe"),
            page("pricing_page_visit", s.at(1, 8, 0), 180),
            plain("meeting_accepted", s.at(1, 9, 0)),
        ]);

    s.reader(s.at(1, 12, 0),
        person("tom.reed@litware-na.com", "Tom Reed", "Marketing Coordinator", "Litware", 45, "retail", "US"));

    // The webinar platform reports Raj's attendance and his reply: now an MQL.
    s.signals(s.at(1, 18, 0), raj_patel, vec![
        said("webinar_attended", s.at(1, 17, 0), "Forecasting with clean MQLs"),
        said("email_reply", s.at(1, 17, 50), "Can we get a trial for the RevOps team?"),
    ]);
    s.accept(s.at(1, 18, 45), raj_patel, amy);

    // Wednesday 10:00 in New York: the SLA runs past Thanksgiving to Friday.
    s.webhook(s.at(2, 15, 0), "g2", "category-intent",
        person("nora.blake@duff-na.com", "Nora Blake", "Marketing Manager", "Duff", 150, "ecommerce", "US"),
        vec![
            page("comparison_page_visit", s.at(2, 14, 0), 240),
            said("email_reply", s.at(2, 14, 40), "How do you compare on routing?"),
            said("timeline_shared", s.at(2, 14, 40), "Decision this quarter?"),
        ]);

    s.steps.sort_by_key(|step| step.at);
    s.steps
}
