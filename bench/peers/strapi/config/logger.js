// Warnings and errors only, as Headwater runs in the benchmark (no line per request).
const { winston, formats: { prettyPrint } } = require('@strapi/logger');
module.exports = {
  transports: [
    new winston.transports.Console({ level: 'warn', format: winston.format.combine(prettyPrint({ timestamps: 'YYYY-MM-DD hh:mm:ss.SSS' })) }),
  ],
};
