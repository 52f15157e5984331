/**
 * The vocabulary of the EU DSA Transparency Database API (statements of reasons, DSA Art. 17 and
 * Art. 24(5)), as its API documentation and its request validation define them
 * (transparency.dsa.ec.europa.eu/page/api-documentation; digital-services-act/transparency-database,
 * app/Models/Statement.php and app/Http/Requests/StatementStoreRequest.php). Keys are sent; the labels
 * beside them are what the database shows people. The category list is the one the 2025 alignment
 * with the harmonised transparency-report template (Implementing Regulation (EU) 2024/2835) introduced,
 * so the same categories label statements and reports.
 */

export const DECISION_VISIBILITY = {
  DECISION_VISIBILITY_CONTENT_REMOVED: 'Removal of content',
  DECISION_VISIBILITY_CONTENT_DISABLED: 'Disabling access to content',
  DECISION_VISIBILITY_CONTENT_DEMOTED: 'Demotion of content',
  DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED: 'Age restricted content',
  DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED: 'Restricting interaction with content',
  DECISION_VISIBILITY_CONTENT_LABELLED: 'Labelled content',
  DECISION_VISIBILITY_OTHER: 'Other restriction (please specify)',
} as const;

export const DECISION_MONETARY = {
  DECISION_MONETARY_SUSPENSION: 'Suspension of monetary payments',
  DECISION_MONETARY_TERMINATION: 'Termination of monetary payments',
  DECISION_MONETARY_OTHER: 'Other restriction (please specify)',
} as const;

export const DECISION_PROVISION = {
  DECISION_PROVISION_PARTIAL_SUSPENSION: 'Partial suspension of the provision of the service',
  DECISION_PROVISION_TOTAL_SUSPENSION: 'Total suspension of the provision of the service',
  DECISION_PROVISION_PARTIAL_TERMINATION: 'Partial termination of the provision of the service',
  DECISION_PROVISION_TOTAL_TERMINATION: 'Total termination of the provision of the service',
} as const;

export const DECISION_ACCOUNT = {
  DECISION_ACCOUNT_SUSPENDED: 'Suspension of the account',
  DECISION_ACCOUNT_TERMINATED: 'Termination of the account',
} as const;

export const ACCOUNT_TYPE = {
  ACCOUNT_TYPE_BUSINESS: 'Business',
  ACCOUNT_TYPE_PRIVATE: 'Private',
} as const;

export const DECISION_GROUND = {
  DECISION_GROUND_ILLEGAL_CONTENT: 'Illegal Content',
  DECISION_GROUND_INCOMPATIBLE_CONTENT: 'Content incompatible with terms and conditions',
} as const;

export const CONTENT_TYPE = {
  CONTENT_TYPE_APP: 'App',
  CONTENT_TYPE_AUDIO: 'Audio',
  CONTENT_TYPE_IMAGE: 'Image',
  CONTENT_TYPE_PRODUCT: 'Product',
  CONTENT_TYPE_SYNTHETIC_MEDIA: 'Synthetic Media',
  CONTENT_TYPE_TEXT: 'Text',
  CONTENT_TYPE_VIDEO: 'Video',
  CONTENT_TYPE_OTHER: 'Other',
} as const;

export const SOURCE_TYPE = {
  SOURCE_ARTICLE_16: 'Notice submitted in accordance with Article 16 DSA',
  SOURCE_TRUSTED_FLAGGER: 'Notice submitted by a trusted flagger',
  SOURCE_TYPE_OTHER_NOTIFICATION: 'Other type of notification',
  SOURCE_VOLUNTARY: 'Own voluntary initiative',
} as const;

export const AUTOMATED_DETECTION = ['Yes', 'No'] as const;
export const INCOMPATIBLE_CONTENT_ILLEGAL = ['Yes', 'No'] as const;

export const AUTOMATED_DECISION = {
  AUTOMATED_DECISION_FULLY: 'Fully automated',
  AUTOMATED_DECISION_PARTIALLY: 'Partially automated',
  AUTOMATED_DECISION_NOT_AUTOMATED: 'Not Automated',
} as const;

export const STATEMENT_CATEGORY = {
  STATEMENT_CATEGORY_ANIMAL_WELFARE: 'Animal welfare',
  STATEMENT_CATEGORY_CONSUMER_INFORMATION: 'Consumer information infringements',
  STATEMENT_CATEGORY_CYBER_VIOLENCE: 'Cyber violence',
  STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN: 'Cyber violence against women',
  STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS: 'Data protection and privacy violations',
  STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH: 'Illegal or harmful speech',
  STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS: 'Intellectual property infringements',
  STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS: 'Negative effects on civic discourse or elections',
  STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE: 'Type of alleged illegal content not specified by the notifier',
  STATEMENT_CATEGORY_OTHER_VIOLATION_TC: 'Other violation of provider’s terms and conditions',
  STATEMENT_CATEGORY_PROTECTION_OF_MINORS: 'Protection of minors',
  STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY: 'Risk for public security',
  STATEMENT_CATEGORY_SCAMS_AND_FRAUD: 'Scams and/or fraud',
  STATEMENT_CATEGORY_SELF_HARM: 'Self-harm',
  STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS: 'Unsafe, non-compliant or prohibited products',
  STATEMENT_CATEGORY_VIOLENCE: 'Violence',
} as const;

/** category_specification values ("keywords"). */
export const KEYWORD = {
  KEYWORD_ADULT_SEXUAL_MATERIAL: 'Adult sexual material',
  KEYWORD_AGE_SPECIFIC_RESTRICTIONS: 'Age-specific restrictions',
  KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS: 'Age-specific restrictions concerning minors',
  KEYWORD_ANIMAL_HARM: 'Animal harm',
  KEYWORD_BIOMETRIC_DATA_BREACH: 'Biometric data breach',
  KEYWORD_BULLYING_AGAINST_GIRLS: 'Cyber bullying and intimidation against girls',
  KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL: 'Child sexual abuse material',
  KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE: 'Child sexual abuse material containing deepfake or similar technology',
  KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS: 'Content promoting eating disorders',
  KEYWORD_COORDINATED_HARM: 'Coordinated harm',
  KEYWORD_COPYRIGHT_INFRINGEMENT: 'Copyright infringements',
  KEYWORD_CYBER_BULLYING_INTIMIDATION: 'Cyber bullying and intimidation',
  KEYWORD_CYBER_HARASSMENT: 'Cyber harassment',
  KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN: 'Cyber harassment against women',
  KEYWORD_CYBER_INCITEMENT: 'Cyber incitement to hatred or violence',
  KEYWORD_CYBER_STALKING: 'Cyber stalking',
  KEYWORD_CYBER_STALKING_AGAINST_WOMEN: 'Cyber stalking against women',
  KEYWORD_DATA_FALSIFICATION: 'Data falsification',
  KEYWORD_DEFAMATION: 'Defamation',
  KEYWORD_DESIGN_INFRINGEMENT: 'Design infringements',
  KEYWORD_DISCRIMINATION: 'Discrimination',
  KEYWORD_FEMALE_GENDERED_DISINFORMATION: 'Gendered disinformation',
  KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT: 'Geographic indications infringements',
  KEYWORD_GEOGRAPHICAL_REQUIREMENTS: 'Geographical requirements',
  KEYWORD_GOODS_SERVICES_NOT_PERMITTED: 'Goods/services not permitted to be offered on the platform',
  KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS: 'Grooming/sexual enticement of minors',
  KEYWORD_HATE_SPEECH: 'Illegal incitement to violence and hatred based on protected characteristics (hate speech)',
  KEYWORD_HIDDEN_ADVERTISEMENT: 'Hidden advertisement or commercial communication, including by influencers',
  KEYWORD_HUMAN_EXPLOITATION: 'Human exploitation',
  KEYWORD_HUMAN_TRAFFICKING: 'Human trafficking',
  KEYWORD_ILLEGAL_ORGANIZATIONS: 'Illegal organizations',
  KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING: 'Impersonation or account hijacking',
  KEYWORD_INAUTHENTIC_ACCOUNTS: 'Inauthentic accounts',
  KEYWORD_INAUTHENTIC_LISTINGS: 'Inauthentic listings',
  KEYWORD_INAUTHENTIC_USER_REVIEWS: 'Inauthentic user reviews',
  KEYWORD_INCITEMENT_AGAINST_WOMEN: 'Illegal incitement to violence and hatred against women',
  KEYWORD_INCITEMENT_VIOLENCE_HATRED: 'General calls or incitement to violence and/or hatred',
  KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS: 'Insufficient information on traders',
  KEYWORD_LANGUAGE_REQUIREMENTS: 'Language requirements',
  KEYWORD_MISINFORMATION_DISINFORMATION: 'Misinformation, disinformation, foreign information manipulation and interference',
  KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS: 'Misleading information about the consumer\'s rights',
  KEYWORD_MISLEADING_INFO_GOODS_SERVICES: 'Misleading information about the characteristics of the goods and services',
  KEYWORD_MISSING_PROCESSING_GROUND: 'Missing processing ground for data',
  KEYWORD_NON_CONSENSUAL_IMAGE_SHARING: 'Non-consensual (intimate) material sharing, including (image-based) sexual abuse (excluding content depicting minors)',
  KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN: 'Non-consensual (intimate) material sharing against women, including (image-based) sexual abuse against women (excluding content depicting minors)',
  KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE: 'Non-consensual sharing of material containing deepfake or similar technology using a third party\'s features (excluding content depicting minors)',
  KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN: 'Non-consensual sharing of material containing deepfake or similar technology using a third party\'s features against women (excluding content depicting minors)',
  KEYWORD_NONCOMPLIANCE_PRICING: 'Non-compliance with pricing regulations',
  KEYWORD_NUDITY: 'Nudity',
  KEYWORD_PATENT_INFRINGEMENT: 'Patent infringements',
  KEYWORD_PHISHING: 'Phishing',
  KEYWORD_PROHIBITED_PRODUCTS: 'Prohibited or restricted products',
  KEYWORD_PYRAMID_SCHEMES: 'Pyramid schemes',
  KEYWORD_RIGHT_TO_BE_FORGOTTEN: 'Right to be forgotten',
  KEYWORD_RISK_ENVIRONMENTAL_DAMAGE: 'Risk for environmental damage',
  KEYWORD_RISK_PUBLIC_HEALTH: 'Risk for public health',
  KEYWORD_SELF_MUTILATION: 'Self-mutilation',
  KEYWORD_STALKING: 'Stalking',
  KEYWORD_SUICIDE: 'Suicide',
  KEYWORD_TERRORIST_CONTENT: 'Terrorist content',
  KEYWORD_TRADE_SECRET_INFRINGEMENT: 'Trade secret infringements',
  KEYWORD_TRADEMARK_INFRINGEMENT: 'Trademark infringements',
  KEYWORD_TRAFFICKING_WOMEN_GIRLS: 'Trafficking in women and girls',
  KEYWORD_UNLAWFUL_SALE_ANIMALS: 'Unlawful sale of animals',
  KEYWORD_UNSAFE_CHALLENGES: 'Unsafe challenges',
  KEYWORD_UNSAFE_PRODUCTS: 'Unsafe or non-compliant products',
  KEYWORD_VIOLATION_EU_LAW: 'Violation of EU law relevant to civic discourse or elections',
  KEYWORD_VIOLATION_NATIONAL_LAW: 'Violation of national law relevant to civic discourse or elections',
  KEYWORD_OTHER: 'Not captured by any other keyword',
} as const;

/** territorial_scope: EU and EEA member states (EuropeanCountriesService::EUROPEAN_COUNTRY_CODES). */
export const EUROPEAN_COUNTRY_CODES = [
  'AT', 'BE', 'BG', 'CY', 'CZ', 'DE', 'DK', 'EE', 'ES', 'FI', 'FR', 'GR', 'HR', 'HU', 'IE', 'IS', 'IT', 'LI', 'LT', 'LU', 'LV', 'MT', 'NL', 'NO', 'PL', 'PT', 'RO', 'SE', 'SI', 'SK',
] as const;
export const EUROPEAN_UNION_COUNTRY_CODES = [
  'AT', 'BE', 'BG', 'CY', 'CZ', 'DE', 'DK', 'EE', 'ES', 'FI', 'FR', 'GR', 'HR', 'HU', 'IE', 'IT', 'LT', 'LU', 'LV', 'MT', 'NL', 'PL', 'PT', 'RO', 'SE', 'SI', 'SK',
] as const;
export type EuropeanCountry = (typeof EUROPEAN_COUNTRY_CODES)[number];

/** content_language: upper-case ISO 639-1 codes (EuropeanLanguagesService::ALL_LANGUAGES). */
export const CONTENT_LANGUAGES = (
  'AB AA AF AK SQ AM AR AN HY AS AV AE AY AZ BM BA EU BE BN BH BI BS BR BG MY CA KM CH CE NY ZH CU CV KW CO CR HR CS DA DV NL DZ EN EO ET EE FO FJ FI FR FF GD GL LG KA DE KI EL KL ' +
  'GN GU HT HA HE HZ HI HO HU IS IO IG ID IA IE IU IK GA IT JA JV KN KR KS KK RW KV KG KO KJ KU KY LO LA LV LB LI LN LT LU MK MG MS ML MT GV MI MR MH RO MN NA NV ND NG NE SE NO NB ' +
  'NN II OC OJ OR OM OS PI PA PS FA PL PT QU RM RN RU SM SG SA SC SR SN SD SI SK SL SO ST NR ES SU SW SS SV TL TY TG TA TT TE TH BO TI TO TS TN TR TK TW UG UK UR UZ VE VI VO WA CY ' +
  'FY WO XH YI YO ZA ZU'
).split(' ');

export type DecisionVisibility = keyof typeof DECISION_VISIBILITY;
export type DecisionMonetary = keyof typeof DECISION_MONETARY;
export type DecisionProvision = keyof typeof DECISION_PROVISION;
export type DecisionAccount = keyof typeof DECISION_ACCOUNT;
export type DecisionGround = keyof typeof DECISION_GROUND;
export type ContentType = keyof typeof CONTENT_TYPE;
export type SourceType = keyof typeof SOURCE_TYPE;
export type AutomatedDecision = keyof typeof AUTOMATED_DECISION;
export type StatementCategory = keyof typeof STATEMENT_CATEGORY;
export type Keyword = keyof typeof KEYWORD;

/** Limits of the API: at most this many statements per POST /api/v1/statements. */
export const TDB_BATCH_LIMIT = 100;
