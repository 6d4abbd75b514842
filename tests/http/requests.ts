/** Requests several serve tests send: the course's ride and churn customer. */

export const COURSE_RIDE = { PULocationID: 10, DOLocationID: 50, trip_distance: 40 };
export const COURSE_RIDE_DURATION = 26.43883355119793;
/** The first customer of the course's CSV, normalized as the course's service expects. */
export const CUSTOMER = {
  gender: "female",
  seniorcitizen: 0,
  partner: "yes",
  dependents: "no",
  tenure: 1,
  phoneservice: "no",
  multiplelines: "no_phone_service",
  internetservice: "dsl",
  onlinesecurity: "no",
  onlinebackup: "yes",
  deviceprotection: "no",
  techsupport: "no",
  streamingtv: "no",
  streamingmovies: "no",
  contract: "month-to-month",
  paperlessbilling: "yes",
  paymentmethod: "electronic_check",
  monthlycharges: 29.85,
  totalcharges: 29.85,
};
